"""Bug 3 on the real engine: `d`, then the master frozen (kill -STOP): the console says NO MASTER.

r1 runs the console (pilot_driver.py), r2 headless vrrptui, tcpdump on the bridge is the witness.
VRRPv3 at 0.1 s.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from test_pilot_netns import R1, R2, WAIT, Driver, adverts_after, wait_holder

from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns


def test_demoted_router_with_a_frozen_master_raises_no_master_and_logs_it(make_lab, tcpdump_ok, tmp_path,
                                                                            state_dir):
    lab = make_lab(routers=("r1", "r2"))
    cap = lab.capture(bpf="vrrp")
    peer = lab.start_vrrptui("r2", conf(100))
    conf_path = lab.node_dir("r1") / "console.conf"
    conf_path.write_text(conf(150))
    ui = Driver(lab, "r1", "console", str(conf_path), str(tmp_path / "drills.jsonl"))
    frozen = False
    try:
        ui.wait_state("MASTER")
        wait_holder(lab, "r1")
        ui.ask("press d y")  # d asks first on a master
        wait_holder(lab, "r2")
        lab.wait_for(lambda: ui.ask("health VI_1")["code"] == "backup silent", WAIT)
        (drill,) = lab.wait_for(lambda: ui.ask("drills"), WAIT)
        # r2 (priority 100) hears our priority 0 and waits Skew_Time: (256 - 100) * 0.1 s / 256
        assert (drill["action"], drill["new_master"], drill["theory_ms"]) == ("demote", R2, 60.9)

        os.killpg(peer.pid, signal.SIGSTOP)
        frozen = True
        t_freeze = time.time()
        verdict = lab.wait_for(lambda: (v := ui.ask("health VI_1"))["code"] == "no master" and v, WAIT)
        assert verdict["text"].startswith("NO MASTER for ")
        assert verdict["text"].endswith(f"master {R2} frozen (answers ARP for the VIP, sends no adverts), "
                                        "this router held (demoted): r resumes")
        assert any(line.startswith("VI_1 (eth0 vrid 51 IPv4): NO MASTER for ") for line in verdict["banner"])
        time.sleep(0.5)
        assert adverts_after(cap, t_freeze + 0.15, R1) == adverts_after(cap, t_freeze + 0.15, R2) == []

        os.killpg(peer.pid, signal.SIGCONT)
        frozen = False
        lab.wait_for(lambda: ui.ask("health VI_1")["code"] == "backup silent", WAIT)
        events = ui.ask("events")
        kinds = [kind for kind, _, _ in events]
        assert "operator" in kinds and "transition" in kinds
        alarm = next(e for e in events if e[0] == "alarm" and e[2].startswith("NO MASTER"))
        assert alarm[1] == "VI_1 (eth0 vrid 51 IPv4)"
        assert any(kind == "cleared" and text.startswith("no master over") for kind, _, text in events)
        assert any(kind == "missed" and text.startswith(f"{R2} missed ") for kind, _, text in events)
        assert ui.quit() == 0
    finally:
        if frozen:
            os.killpg(peer.pid, signal.SIGCONT)
        if ui.proc.poll() is None:
            ui.proc.kill()
        lab.stop(peer)
    events_file = state_dir / "vrrptui" / "console" / "events.jsonl"
    stored = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [e["action"] for e in stored if e["kind"] == "operator"] == ["demote", "quit"]
    no_master = [e["kind"] for e in stored if e.get("code") == "no master"]
    assert no_master == ["alarm", "cleared"]
    assert all(e["time"][:4] == time.strftime("%Y") for e in stored)
