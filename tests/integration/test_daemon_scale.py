"""100 instances at VRRPv3 0.1 s on one interface: r1 master, r2 backup, both headless vrrptui.

Each takeover on r1 adds a VIP and every VIP echoes back as an address event; the runtime
must not stall on them. The witnesses are protocol behaviour only: r2 never leaves BACKUP
(no spurious takeover, no advert from r2, every instance BACKUP in its status), and r1's
adverts on the bridge (tcpdump) come at the configured rate, 100 / 0.1 s = 1,000 per second.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from vrrptui.daemon.control import request
from vrrptui.lab.netns import Lab

pytestmark = pytest.mark.netns

INSTANCES = 100
INTERVAL = 0.1
WINDOW = 3.0  # seconds of adverts counted
TOLERANCE = 0.04  # of the configured rate
WAIT = 30.0


def many_instances(priority: int) -> str:
    blocks = [
        f"vrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n"
        f"    priority {priority}\n    advert_int {INTERVAL:g}\n"
        f"    virtual_ipaddress {{\n        10.10.{vrid}.1/32\n    }}\n}}\n"
        for vrid in range(1, INSTANCES + 1)
    ]
    return "global_defs {\n    vrrp_version 3\n}\n" + "".join(blocks)


def states(proc: Any) -> dict[str, str]:
    """Every instance's state, from the daemon's control socket."""
    sockets = list(Path(proc.runtime_dir).glob("*.sock"))
    if not sockets:
        return {}
    reply = request(sockets[0], {"cmd": "status"})
    return {i["name"]: i["state"] for i in reply.get("instances", [])}


def test_a_hundred_instances_keep_their_rate_and_the_backup_stays_backup(make_lab, tcpdump_ok: str) -> None:
    lab: Lab = make_lab(routers=("r1", "r2"), clients=())
    vips = {f"10.10.{vrid}.1" for vrid in range(1, INSTANCES + 1)}
    master = lab.start_vrrptui("r1", many_instances(200))
    assert lab.wait_for(lambda: vips <= lab.addresses("r1"), WAIT, 0.2), lab.log(master)[-2000:]
    backup = lab.start_vrrptui("r2", many_instances(100))
    assert lab.wait_for(lambda: list(states(backup).values()).count("BACKUP") == INSTANCES, WAIT, 0.2), \
        lab.log(backup)[-2000:]

    cap = lab.capture(bpf="vrrp")
    time.sleep(WINDOW + 1.0)
    assert states(backup) == {f"VI_{vrid}": "BACKUP" for vrid in range(1, INSTANCES + 1)}
    assert set(states(master).values()) == {"MASTER"}
    cap.stop()

    adverts = cap.adverts()
    assert adverts, cap.stderr()
    assert not [a for a in adverts if a.src == lab.ip4("r2")], "the backup sent adverts: a spurious takeover"
    # a window inside the capture, so tcpdump's start and stop latency do not count
    start = adverts[0].time + 0.5
    counted = [a for a in adverts if a.src == lab.ip4("r1") and start <= a.time < start + WINDOW]
    expected = INSTANCES / INTERVAL * WINDOW
    assert abs(len(counted) - expected) <= TOLERANCE * expected, (len(counted), expected)
    assert {a.vrid for a in counted} == set(range(1, INSTANCES + 1))
    assert {a.priority for a in counted} == {200}

    assert "Entering MASTER STATE" not in lab.log(backup)
    assert not vips & lab.addresses("r2")
    assert vips <= lab.addresses("r1")
