"""metrics.py without sockets: addresses, the Watch's peers / split brain / takeover, keepalived_up 0."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest
from prometheus_client import generate_latest
from prometheus_client.core import CollectorRegistry

from vrrptui.daemon.metrics import RuntimeCollector, Watch, parse_address
from vrrptui.engine.outputs import Counters, Reason, State, StateChanged
from vrrptui.records import Heard
from vrrptui.engine.status import InstanceStatus
from vrrptui.protocol.packet import Advert

ME, PEER = ipaddress.ip_address("192.168.1.11"), ipaddress.ip_address("192.168.1.12")


def test_addresses() -> None:
    assert parse_address("127.0.0.1:9165") == ("127.0.0.1", 9165)
    assert parse_address("[::1]:9165") == ("::1", 9165)
    assert parse_address(":9165") == ("0.0.0.0", 9165)
    for bad in ("9165", "localhost:9165", "1.2.3.4:0", "1.2.3.4:x"):
        with pytest.raises(ValueError):
            parse_address(bad)


def status(state: str) -> InstanceStatus:
    return InstanceStatus(
        name="VI_1", interface="eth0", vrid=51, version=3, family=4, state=state, state_since=0.0,
        configured_priority=150, effective_priority=150, priority_reason="", primary_address=str(ME),
        master_address=None, master_priority=None, advert_int=0.1, learned_advert_int=None, skew_time=0.04,
        master_down_interval=0.34, master_down_at=None, preempt=True, preempt_delay=0.0, last_transition="",
        last_reason="", vips=("192.168.1.100/24",), vmac=None, unicast_peers=(), trackers=(), held=None,
        counters=Counters())


def advert(priority: int) -> Advert:
    return Advert.from_fields(3, 51, priority, 0.1, [ipaddress.ip_address("192.168.1.100")])


def heard(at: float, priority: int, src: ipaddress.IPv4Address = PEER) -> Heard:
    return Heard("eth0", at, src, ipaddress.ip_address("224.0.0.18"), 255, advert(priority))


KEY = ("eth0", 51, 4)


def watch_eth0() -> Watch:
    return Watch(lambda name: KEY if name == "VI_1" else None)


def test_takeover_is_the_old_master_s_last_advert_to_our_becoming_master() -> None:
    watch = watch_eth0()
    watch([heard(1.0, 100), heard(1.1, 100)])
    watch([StateChanged("VI_1", State.BACKUP, State.MASTER, Reason.TIMEOUT, 1.44)])
    assert watch.takeover["VI_1"] == pytest.approx(0.34)
    key = KEY
    assert watch.peers_heard(key, status("MASTER"), 1.2) == 1
    assert watch.peers_heard(key, status("MASTER"), 5.0) == 0  # silent for more than 3 intervals


def test_split_brain_needs_the_other_to_keep_advertising_while_we_are_master() -> None:
    watch = watch_eth0()
    watch([heard(0.9, 100),
           StateChanged("VI_1", State.BACKUP, State.MASTER, Reason.TIMEOUT, 1.0)])
    master = status("MASTER")
    key = KEY
    watch([heard(1.05, 100)])  # one advert after ours: a normal handover answers once
    assert not watch.split_brain(key, master, 1.1)
    watch([heard(1.15, 100), heard(1.25, 100)])
    assert watch.split_brain(key, master, 1.3)
    assert not watch.split_brain(key, master, 3.0)  # it stopped
    assert not watch.split_brain(key, replace(master, state="BACKUP"), 1.3)


def test_a_runtime_that_does_not_answer_is_keepalived_up_0() -> None:
    class Stopped:
        loop = None
        engine = None

    registry = CollectorRegistry(auto_describe=False)
    registry.register(RuntimeCollector(Stopped(), watch_eth0()))
    assert generate_latest(registry).decode().splitlines()[-1] == "keepalived_up 0.0"


def test_drills_from_the_console_s_file_are_served_last_one_per_instance_and_action(tmp_path) -> None:
    from vrrptui.daemon.drillfile import append_drill
    from vrrptui.daemon.metrics import DrillCollector
    from vrrptui.records import Drill

    path = tmp_path / "drills.jsonl"
    base = Drill("failover", "VI_1", "eth0", 51, 4, "2026-12-03T04:00:00", 1.0, "192.168.1.11")
    append_drill(path, replace(base, result="ok", takeover_ms=400.0, theory_ms=361.0, client_outage_ms=380.0))
    append_drill(path, replace(base, result="ok", takeover_ms=362.5, theory_ms=361.0))
    append_drill(path, replace(base, action="demote", result="incomplete"))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DrillCollector(str(path)))
    text = generate_latest(registry).decode()
    labels = 'iname="VI_1",intf="eth0",vrid="51"'
    assert f'vrrptui_drill_takeover_seconds{{action="failover",{labels}}} 0.3625' in text
    assert f'vrrptui_drill_theory_seconds{{action="failover",{labels}}} 0.361' in text
    assert "vrrptui_drill_client_outage_seconds{" not in text  # the last drill had no client
    labels_with = 'iname="VI_1",intf="eth0",result="{}",vrid="51"'
    assert f'vrrptui_drills_total{{action="failover",{labels_with.format("ok")}}} 2.0' in text
    assert f'vrrptui_drills_total{{action="demote",{labels_with.format("incomplete")}}} 1.0' in text
