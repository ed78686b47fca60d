"""`auth_type AH` next to keepalived 2.2.7: byte-identical adverts, and each side as master and as backup.

tcpdump on the bridge is the witness: every AH datagram on the wire (from either side)
must verify with the shared password, and the sequence numbers must keep increasing
across handovers, as keepalived continues from the number it last heard.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest
from scapy.utils import rdpcap

from test_interop_keepalived import WAIT, holders, keepalived_state, status_when, vrrptui_status
from vrrptui.lab.netns import Lab
from vrrptui.protocol import ah

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

PASSWORD = "secret12"
VIP = "192.168.1.13"


def ah_conf(lab: Lab, me: str, peer: str, *, state: str, priority: int, unicast: bool) -> str:
    peers = (f"    unicast_src_ip {lab.ip4(me)}\n    unicast_peer {{\n        {lab.ip4(peer)}\n    }}\n"
             if unicast else "")
    return f"""
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 150
    priority {priority}
    advert_int 1
{peers}    authentication {{
        auth_type AH
        auth_pass {PASSWORD}
    }}
    virtual_ipaddress {{
        {VIP}/24
        192.168.1.14/24
    }}
}}
"""


def datagrams(path: Path) -> list[bytes]:
    """The IPv4 datagrams of IP protocol 51 in an Ethernet capture."""
    frames = [bytes(p) for p in rdpcap(str(path))]
    return [f[14:] for f in frames if len(f) > 34 and f[12:14] == b"\x08\x00" and f[23] == ah.AH_PROTO]


def sent_by(found: list[bytes], src: str) -> list[bytes]:
    return [d for d in found if ipaddress.IPv4Address(d[12:16]) == ipaddress.IPv4Address(src)]


def first_adverts(lab: Lab, start: Any, count: int = 3) -> list[bytes]:
    """Run one sender alone (it takes over after Master_Down_Interval) and capture its first adverts."""
    cap = lab.capture(bpf="ip proto 51")
    proc = start()
    try:
        assert lab.wait_for(lambda: len(datagrams(cap.path)) >= count, WAIT), lab.log(proc)
    finally:
        lab.stop(proc, signal.SIGTERM)
        cap.stop()
    return datagrams(cap.path)[:count]


def test_vrrptui_sends_the_bytes_keepalived_sends(make_lab, keepalived_ok: str, tcpdump_ok: str) -> None:
    lab: Lab = make_lab()
    conf = ah_conf(lab, "r1", "r2", state="BACKUP", priority=150, unicast=False)
    from_keepalived = first_adverts(lab, lambda: lab.start_keepalived("r1", conf))
    from_vrrptui = first_adverts(lab, lambda: lab.start_vrrptui("r1", conf))
    # same source, same ID and sequence from 1, same ICV: identical datagrams, kernel-filled checksum included
    assert [d.hex() for d in from_vrrptui] == [d.hex() for d in from_keepalived]


@pytest.mark.parametrize("unicast", [False, True], ids=["multicast", "unicast"])
def test_ah_with_keepalived_in_both_roles(make_lab, keepalived_ok: str, tcpdump_ok: str, unicast: bool) -> None:
    lab: Lab = make_lab()
    cap = lab.capture(bpf="ip proto 51 or vrrp")
    key = ah.hmac_key(PASSWORD)

    # 1. vrrptui: `state MASTER` is cleared as keepalived clears it; it takes over after Master_Down_Interval
    vt = lab.start_vrrptui("r1", ah_conf(lab, "r1", "r2", state="MASTER", priority=150, unicast=unicast),
                           ["--log-detail"])
    # (the VIP goes up before the transition's log lines are written)
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r1"] and "Entering MASTER STATE" in lab.log(vt), WAIT), \
        lab.log(vt)
    log = lab.log(vt)
    assert "(VI_1) Initial state master is incompatible with AH authentication - clearing" in log
    assert log.index("(VI_1) Entering BACKUP STATE") < log.index("(VI_1) Entering MASTER STATE")
    assert "proto(51)" in log

    # keepalived joins as backup and accepts every advert of ours
    ka = lab.start_keepalived("r2", ah_conf(lab, "r2", "r1", state="BACKUP", priority=100, unicast=unicast))
    assert lab.wait_for(lambda: keepalived_state(lab, ka) == "BACKUP", WAIT), lab.log(ka)
    st = status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_sent"] > 3)
    assert st is not None
    assert status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_sent"] > st["counters"]["adverts_sent"] + 4)
    ka_log = lab.log(ka)
    assert "IPSEC" not in ka_log and "AH header" not in ka_log and "Entering MASTER STATE" not in ka_log, ka_log
    assert holders(lab, VIP) == ["r1"]

    # 2. vrrptui resigns with priority 0: keepalived takes over, continuing our sequence numbers
    assert lab.stop(vt, signal.SIGTERM) == 0
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r2"], WAIT), lab.log(ka)
    assert "(VI_1) Backup received priority 0 advertisement" in lab.log(ka)

    # 3. vrrptui returns as a lower-priority backup and accepts keepalived's AH adverts
    vt = lab.start_vrrptui("r1", ah_conf(lab, "r1", "r2", state="BACKUP", priority=90, unicast=unicast),
                           ["--log-detail"], tag="vrrptui-backup")
    st = status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_received"] >= 3)
    assert st is not None, lab.log(vt)
    assert (st["state"], st["master_priority"], st["master_address"]) == ("BACKUP", 100, lab.ip4("r2"))
    assert sum(st["counters"]["drops"].values()) == 0, st["counters"]

    # 4. keepalived resigns: vrrptui takes over and keepalived's log never complained
    lab.stop(ka, signal.SIGTERM)
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r1"], WAIT), lab.log(vt)
    assert "(VI_1) Backup received priority 0 advertisement" in lab.log(vt)
    assert vrrptui_status(lab, "r1", vt)["counters"]["priority_zero_received"] == 1
    assert status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_sent"] >= 2)
    lab.stop(vt, signal.SIGTERM)
    assert "IPSEC" not in lab.log(ka), lab.log(ka)

    # the witness: only AH on the wire, every datagram verifies, one sequence increasing across the handovers
    cap.stop()
    found = datagrams(cap.path)
    plain = subprocess.run(["tcpdump", "-n", "-r", str(cap.path), "vrrp"], capture_output=True, text=True).stdout
    assert plain == ""
    packets = [ah.parse(d) for d in found]
    assert all(isinstance(p, ah.AhPacket) and ah.verify(p, key, unicast) is None for p in packets)
    senders = [str(p.src) for p in packets]  # type: ignore[union-attr]
    assert senders[0] == lab.ip4("r1") and lab.ip4("r2") in senders and senders[-1] == lab.ip4("r1")
    sequences = [p.sequence for p in packets]  # type: ignore[union-attr]
    assert sequences == sorted(set(sequences)), sequences
    if unicast:
        assert {str(p.dst) for p in packets} == {lab.ip4("r1"), lab.ip4("r2")}  # type: ignore[union-attr]
    assert len(sent_by(found, lab.ip4("r2"))) >= 3


@pytest.mark.parametrize("unicast", [False, True], ids=["multicast", "unicast"])
def test_a_killed_ah_masters_guardian_resigns_and_keepalived_takes_over_after_skew_time(
        make_lab, keepalived_ok: str, tcpdump_ok: str, unicast: bool) -> None:
    """kill -9 of a vrrptui AH master alone: its guardian sends the journalled priority-0 datagram, numbered
    ahead of every advert sent (engine/ah_state.py), and keepalived takes it: it takes over after Skew_Time
    (0.61 s at priority 100), not Master_Down_Interval (3.61 s), and continues the sequence from it."""
    from test_crash_restart import guardian_of

    lab: Lab = make_lab()
    cap = lab.capture(bpf="ip proto 51")
    vt = lab.start_vrrptui("r1", ah_conf(lab, "r1", "r2", state="BACKUP", priority=150, unicast=unicast),
                           ["--log-detail"])
    ka = lab.start_keepalived("r2", ah_conf(lab, "r2", "r1", state="BACKUP", priority=100, unicast=unicast))
    journal = lab.node_dir("r1") / "run"
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r1"] and keepalived_state(lab, ka) == "BACKUP"
                        and any(line.endswith(" 51") for j in journal.glob("*.vips")
                                for line in j.read_text().splitlines()), 3 * WAIT), lab.log(vt) + lab.log(ka)
    guardian = guardian_of(vt)
    assert status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_sent"] >= 2)
    os.kill(vt.pid, signal.SIGKILL)
    vt.wait()
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r2"], WAIT), lab.log(vt) + lab.log(ka)
    assert lab.wait_for(lambda: not guardian.is_running() or guardian.status() == psutil.STATUS_ZOMBIE, WAIT)
    assert lab.wait_for(lambda: "(VI_1) Entering MASTER STATE" in lab.log(ka), WAIT)
    ka_log = lab.log(ka)
    assert "(VI_1) Backup received priority 0 advertisement" in ka_log and "IPSEC" not in ka_log, ka_log
    assert f"sent priority 0 from {lab.ip4('r1')}" in lab.log(vt), lab.log(vt)
    assert lab.wait_for(lambda: len(sent_by([d for _, d in timed(cap.path)], lab.ip4("r2"))) >= 1, WAIT)
    lab.stop(ka, signal.SIGTERM)
    cap.stop()
    key = ah.hmac_key(PASSWORD)
    seen = [(t, ah.parse(d)) for t, d in timed(cap.path)]
    assert all(isinstance(p, ah.AhPacket) and ah.verify(p, key, unicast) is None for _, p in seen)
    ours = [(t, p) for t, p in seen if str(p.src) == lab.ip4("r1")]  # type: ignore[union-attr]
    [(t_resign, resign)] = [(t, p) for t, p in ours if p.message[2] == 0]  # type: ignore[union-attr]
    assert resign.sequence > max(p.sequence for _, p in ours if p is not resign)  # type: ignore[union-attr]
    t_taken, taken = next((t, p) for t, p in seen if str(p.src) == lab.ip4("r2"))  # type: ignore[union-attr]
    assert t_taken - t_resign < 3.0, (t_resign, t_taken)  # Skew_Time (0.61 s), not Master_Down_Interval (3.61 s)
    assert taken.sequence == resign.sequence + 1  # type: ignore[union-attr]


def timed(path: Path) -> list[tuple[float, bytes]]:
    """(capture time, IPv4 datagram) of each IP protocol 51 frame."""
    frames = [(float(p.time), bytes(p)) for p in rdpcap(str(path))]
    return [(t, f[14:]) for t, f in frames if len(f) > 34 and f[12:14] == b"\x08\x00" and f[23] == ah.AH_PROTO]
