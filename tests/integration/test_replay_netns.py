"""`vrrptui replay --json/--summary` on captures recorded here: tcpdump on the lab's bridge while
r1 (150) is frozen (kill -STOP), r2 (100) takes over, then r1 is thawed and preempts again.
The failovers replay finds are checked against tcpdump's own reading of the same file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf
from vrrptui.protocol.timers import master_down_interval

pytestmark = pytest.mark.netns

R1, R2 = "192.168.1.11", "192.168.1.12"
WAIT = 10.0  # bound on how long a broken test may hang; not a performance claim


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrrptui.cli", "replay", *args], capture_output=True, text=True,
                          timeout=120)


def record_failovers(lab: Lab):
    cap = lab.capture()  # the bridge: "vrrp or arp"
    p1 = lab.start_vrrptui("r1", conf(150))
    p2 = lab.start_vrrptui("r2", conf(100))
    try:
        lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
        os.killpg(p1.pid, signal.SIGSTOP)  # frozen: its VIP stays, its adverts stop
        try:
            lab.wait_for(lambda: lab.has_vip("r2", VIP), WAIT)
            lab.wait_for(lambda: len([a for a in cap.adverts() if a.src == R2]) >= 10, WAIT)
        finally:
            os.killpg(p1.pid, signal.SIGCONT)
        lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
        lab.wait_for(lambda: len([a for a in cap.adverts() if a.src == R1][-5:]) == 5, WAIT)
    finally:
        lab.stop(p2)
        lab.stop(p1)
    path = cap.stop()
    return path, cap.adverts()


def test_replay_finds_each_failover_with_the_wires_times(make_lab, tcpdump_ok, tmp_path):
    lab = make_lab(routers=("r1", "r2"))
    path, adverts = record_failovers(lab)
    out = replay("--json", str(path))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["vrrp"] == len(adverts)
    first, second = report["failovers"][:2]

    # r1 frozen: r2 takes over after Master_Down_Interval, timed from r1's last advert to r2's first.
    r2_first = next(a for a in adverts if a.src == R2 and a.priority > 0)
    r1_last = [a for a in adverts if a.src == R1 and a.time < r2_first.time][-1]
    assert (first["old_master"], first["new_master"], first["how"]) == (R1, R2, "took over after silence")
    assert first["takeover_ms"] == pytest.approx((r2_first.time - r1_last.time) * 1000, abs=0.002)
    assert first["takeover_ms"] >= master_down_interval(3, 100, 0.1) * 1000 - 1
    assert first["missed_adverts"] >= 3
    garp = [a for a in first["vip_answers"] if a["mac"] == lab.mac("r2")]
    assert garp and garp[0]["vip"] == VIP and garp[0]["owner"] == R2 and garp[0]["kind"] == "announce"

    # r1 thawed: it advertises 150 again and r2 (100) yields at once: a preemption.
    r1_back = next(a for a in adverts if a.src == R1 and a.time > r2_first.time)
    assert (second["old_master"], second["new_master"], second["how"]) == (R2, R1, "preempted")
    assert second["time"] > first["time"]
    assert second["takeover_ms"] == pytest.approx(
        (r1_back.time - [a for a in adverts if a.src == R2 and a.time < r1_back.time][-1].time) * 1000, abs=0.002)

    # The summary says the same in words; a pcapng of the same packets gives the same failovers.
    summary = replay("--summary", str(path)).stdout.splitlines()
    assert summary[0].startswith(f"{path}: ") and summary[0].endswith(" failovers")
    assert f"vrid 51 IPv4  {R1} -> {R2}  (took over after silence)" in summary[1]
    assert summary[2].startswith(f"    takeover {first['takeover_ms']:.1f} ms (old master's last advert ")
    assert f"    ARP for {VIP}: {lab.mac('r2')} ({R2}) announce," in "\n".join(summary)
    from scapy.utils import PcapNgWriter, rdpcap

    ng = tmp_path / "capture.pcapng"
    with PcapNgWriter(str(ng)) as w:
        for pkt in rdpcap(str(path)):
            w.write(pkt)
    again = json.loads(replay("--json", str(ng)).stdout)
    assert [(f["old_master"], f["new_master"], f["takeover_ms"]) for f in again["failovers"]] == \
        [(f["old_master"], f["new_master"], f["takeover_ms"]) for f in report["failovers"]]


def test_replay_of_a_file_that_is_no_capture_says_so(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a capture\n")
    out = replay("--summary", str(bad))
    assert out.returncode == 2
    assert out.stderr.startswith(f"vrrptui replay: {bad}: not a pcap or pcapng capture")
    missing = replay("--json", str(tmp_path / "missing.pcap"))
    assert missing.stderr == f"vrrptui replay: {tmp_path}/missing.pcap: no such file\n"
