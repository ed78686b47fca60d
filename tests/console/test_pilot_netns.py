"""The real console on the real engine, in namespaces: keys pressed, the wire and the VIP checked.

r1 runs the console (App.run_test, driven over a pipe by pilot_driver.py), r2 runs headless
vrrptui, tcpdump on the bridge is the witness. VRRPv3 at 0.1 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

R1, R2 = "192.168.1.11", "192.168.1.12"
WAIT = 10.0  # bound on how long a broken test may hang; not a performance claim
DRIVER = Path(__file__).with_name("pilot_driver.py")


class Driver:
    def __init__(self, lab: Lab, node: str, *args: str) -> None:
        self.lab = lab
        self.proc = lab.popen(node, [sys.executable, str(DRIVER), *args], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        assert self.read() == {"ready": True}

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(5)
            raise AssertionError(f"driver exited {self.proc.returncode}: {self.proc.stderr.read()[-3000:]}")
        return json.loads(line)

    def ask(self, command: str):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def wait_state(self, state: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while self.ask("status VI_1").get("state") != state:
            assert time.monotonic() < deadline, f"VI_1 never became {state}"

    def quit(self, asked: list[str] | None = None) -> int:
        assert self.ask("quit")["asked"] == asked
        return self.proc.wait(WAIT)


def wait_holder(lab: Lab, node: str) -> None:
    lab.wait_for(lambda: lab.vip_holders(VIP) == [node], WAIT)


def adverts_after(cap, t: float, src: str):
    return [a for a in cap.adverts() if a.time >= t and a.src == src]


def test_console_keys_act_on_the_wire_and_move_the_vip(make_lab, tcpdump_ok, tmp_path):
    lab = make_lab(routers=("r1", "r2"))
    cap = lab.capture(bpf="vrrp")
    peer = lab.start_vrrptui("r2", conf(100))
    conf_path = lab.node_dir("r1") / "console.conf"
    conf_path.write_text(conf(150))
    drills = tmp_path / "drills.jsonl"
    ui = Driver(lab, "r1", "console", str(conf_path), str(drills))
    try:
        ui.wait_state("MASTER")
        wait_holder(lab, "r1")

        # d asks first, saying what will happen; Escape leaves everything as it was.
        t_asked = ui.ask("press d")["t"]
        assert ui.ask("screen") == {"screen": "ConfirmDialog", "text": [
            f"VI_1 is MASTER: demote sends priority 0 and {R2} takes {VIP} at once",
            "VI_1 is then held as backup (priority 0) until r"]}
        ui.ask("press escape")
        time.sleep(0.5)
        assert lab.vip_holders(VIP) == ["r1"] and ui.ask("status VI_1")["state"] == "MASTER"
        assert all(a.priority == 150 for a in adverts_after(cap, t_asked, R1))

        # d, y: graceful handover: a priority-0 advert from us, then r2 is master and holds the VIP.
        ui.ask("press d")
        t_demote = ui.ask("press y")["t"]
        wait_holder(lab, "r2")
        ui.wait_state("BACKUP")
        time.sleep(0.3)
        # Regular adverts may leave while the key travels to the engine's process; then
        # priority 0, and nothing else: held as backup, silent after resigning.
        ours = [a.priority for a in adverts_after(cap, t_demote, R1)]
        assert 0 in ours
        assert set(ours[: ours.index(0)]) <= {150}
        assert set(ours[ours.index(0) :]) == {0}
        assert adverts_after(cap, t_demote, R2)

        # r: resume: r1 (150) preempts r2 (100) and takes the VIP back.
        t_resume = ui.ask("press r")["t"]
        wait_holder(lab, "r1")
        ui.wait_state("MASTER")
        assert any(a.priority == 150 for a in adverts_after(cap, t_resume, R1))

        # f: force failover on the master: silent, no priority 0; r2 takes over as from a dead router.
        ui.ask("press f")
        t_fail = ui.ask("press y")["t"]
        wait_holder(lab, "r2")
        time.sleep(0.3)
        assert not [a for a in adverts_after(cap, t_fail, R1) if a.priority == 0]
        first_r2 = adverts_after(cap, t_fail, R2)[0].time
        assert first_r2 - t_fail > 0.25  # it waited for Master_Down_Interval (~0.36 s), unlike a handover

        ui.ask("press r")
        wait_holder(lab, "r1")

        # p: priority 50 goes out in the next advert, and r2 (100) preempts us.
        t_prio = ui.ask("press p backspace backspace backspace 5 0 enter")["t"]
        wait_holder(lab, "r2")
        assert any(a.priority == 50 for a in adverts_after(cap, t_prio, R1))
        assert ui.ask("status VI_1")["effective_priority"] == 50

        # The two drills were timed from the wire.
        lab.wait_for(lambda: len(ui.ask("drills")) >= 2, WAIT)
        demote, failover = ui.ask("drills")[:2]
        assert (demote["action"], demote["result"], demote["new_master"]) == ("demote", "ok", R2)
        assert (failover["action"], failover["result"], failover["new_master"]) == ("failover", "ok", R2)
        assert 0 < demote["takeover_ms"] < failover["takeover_ms"]
        assert failover["adverts_missed"] >= 2
        assert demote["vip_ms"] is not None and failover["vip_ms"] is not None
        assert [json.loads(line)["action"] for line in drills.read_text().splitlines()][:2] == ["demote", "failover"]

        # q on the master: resign with priority 0 and release the VIP, exactly as headless.
        ui.ask("press r")
        wait_holder(lab, "r1")
        ui.wait_state("MASTER")  # the console knows it too: q asks first
        t_quit = time.time()
        assert ui.quit([f"this router is MASTER for VI_1: quitting hands {VIP} to {R2}"]) == 0
        wait_holder(lab, "r2")
        assert not lab.has_vip("r1", VIP)
        time.sleep(0.2)
        ours = [a.priority for a in adverts_after(cap, t_quit, R1)]
        # regular adverts may still go out while `q` travels to the engine's process; then exactly one
        # priority-0 advert, and nothing after it
        assert ours[-1:] == [0] and all(p == 150 for p in ours[:-1]), ours
    finally:
        if ui.proc.poll() is None:
            ui.proc.kill()
        lab.stop(peer)


def test_sniff_sends_nothing(make_lab, tcpdump_ok, tmp_path):
    lab = make_lab(routers=("r1", "r2", "r3"))
    cap = lab.capture(bpf=f"ether src {lab.mac('r3')}")
    witness = lab.capture(bpf="vrrp")
    p1 = lab.start_vrrptui("r1", conf(150))
    p2 = lab.start_vrrptui("r2", conf(100))
    ui = Driver(lab, "r3", "sniff", "eth0", str(tmp_path / "drills.jsonl"))
    try:
        lab.wait_for(lambda: any(p[0] == R1 and p[2] == 150 for p in ui.ask("peers")), WAIT)
        time.sleep(1.0)
        assert ui.quit(None) == 0
    finally:
        if ui.proc.poll() is None:
            ui.proc.kill()
        lab.stop(p1)
        lab.stop(p2)
    assert witness.adverts()  # the capture works: it saw r1's adverts
    # The kernel's own MLD reports and router solicitations (the link coming up, joining groups,
    # IPv6 autoconfiguration) are not the sniffer's doing.
    frames = [f for f in cap.read() if "multicast listener report" not in f and "router solicitation" not in f]
    assert frames == [], frames
