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
    lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
    p2 = lab.start_vrrptui("r2", conf(100))  # after r1 is master: r2 hears it from the start, stays backup
    try:
        lab.wait_for(lambda: b"BACKUP" in p2.log_path.read_bytes(), WAIT)
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
    failovers = report["failovers"]
    first, second = failovers

    # r1 frozen: r2 takes over after Master_Down_Interval, timed from r1's last advert to r2's first.
    r2_first = next(a for a in adverts if a.src == R2 and abs(a.time - first["at"]) < 1e-5)
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
    assert summary[0].startswith(f"{path}: ") and summary[0].endswith(f" {len(failovers)} failovers")
    takeover = f"vrid 51 IPv4  {R1} -> {R2}  (took over after silence)"
    at = summary.index(next(line for line in summary if takeover in line))
    assert summary[at + 1].startswith(f"    takeover {first['takeover_ms']:.1f} ms (old master's last advert ")
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


def test_replay_console_plays_the_capture_at_its_times_and_jumps_to_each_failover(make_lab, tcpdump_ok):
    import asyncio

    from vrrptui.console.replay_app import build_replay
    from vrrptui.observe.failovers import find_failovers
    from vrrptui.replay.capture import read_capture

    lab = make_lab(routers=("r1", "r2"))
    path, _ = record_failovers(lab)
    capture = read_capture(path)
    failovers = find_failovers(capture.records)
    app = build_replay(str(path), list(capture.records), failovers)
    app.refresh_every = 0.05
    assert app.player.toggle() is False  # paused before it starts: this machine may be slow to start the UI

    async def masters_seen(pilot, count: int) -> list:
        for _ in range(400):
            events = [e for e in app.session.history.events if e.kind == "master" and "new" in e.data]
            if len(events) >= count:
                return events
            await pilot.pause(0.05)
        raise AssertionError(f"the replay never showed {count} failovers")

    async def run() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            paused_at = app.player.now()
            await pilot.pause(0.3)
            assert not app.player.playing and app.player.now() == paused_at
            assert capture.records[0].at <= paused_at < failovers[0].at
            app.refresh_panes()
            assert "paused" in app.title_text
            await pilot.press("k")
            await pilot.pause(0.1)
            assert app.player.playing and app.player.now() > capture.records[0].at
            await pilot.press("k")
            paused_at = app.player.now()
            await pilot.pause(0.2)
            assert app.player.now() == paused_at

            await pilot.press("minus", "minus")  # x0.25: r2's second as master lasts four here
            await pilot.press("greater_than_sign")  # play from 2 s before the first failover (or from here)
            first = (await masters_seen(pilot, 1))[0]
            assert (first.wall, first.data["old"], first.data["new"]) == (failovers[0].at, R1, R2)
            now = app.clock()
            assert failovers[0].at <= now < failovers[1].at
            assert [p.src for p in app.session.peers.peers(now) if p.master] == [R2]

            await pilot.press("plus", "plus", "plus")
            assert app.player.speed == 2.0
            await pilot.press("greater_than_sign")
            second = (await masters_seen(pilot, 2))[1]
            assert (second.wall, second.data["new"]) == (failovers[1].at, R1)
            app.refresh_panes()
            assert "playing x2" in app.title_text or "paused" in app.title_text
            await pilot.press("q")

    asyncio.run(run())
