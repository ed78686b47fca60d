"""vrrp_track_process: whether a process runs moves the priority (and weight 0 means FAULT).

r1 (150) tracks a process named `vrrptuitp<pid>` with weight -60, r2 (130) tracks nothing; VRRPv3 at
0.1 s. While the process is not running r1 advertises 90 and r2 holds the VIP; once it runs r1 is back
at 150 and preempts; when it is killed r2 takes over again. The process is a copy of sleep under that
name, started by the test (process names are per host, not per network namespace).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from vrrptui.lab.namespaces import vrrptui_command
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # upper bound for anything to happen; never a performance claim


def effective_priority(lab: Lab, proc: subprocess.Popen[Any]) -> int | None:
    """r1's effective priority from `vrrptui status --json` on its own control socket."""
    sock = lab.node_dir("r1") / "run" / f"{proc.pid}.sock"
    out = lab.exec("r1", [*vrrptui_command(), "status", "--json", "--socket", str(sock)])
    if out.returncode != 0:
        return None
    (daemon,) = json.loads(out.stdout)["daemons"]
    return int(daemon["instances"][0]["effective_priority"])


def test_track_process_moves_the_priority(lab: Lab) -> None:
    name = f"vrrptuitp{os.getpid() % 100000}"  # at most 15 characters: the kernel's process name
    binary = lab.node_dir("r1") / name
    shutil.copy(shutil.which("sleep") or "/bin/sleep", binary)
    top = f"vrrp_track_process proc {{\n    process {name}\n    weight -60\n}}\n"
    cap = lab.capture()
    p1 = lab.start_vrrptui("r1", conf(150, top=top, extra="track_process {\n        proc\n    }"), ["--log-detail"])
    p2 = lab.start_vrrptui("r2", conf(130))

    def r1_priority() -> int | None:
        adverts = [a for a in cap.adverts() if a.src == "192.168.1.11" and a.priority]
        return adverts[-1].priority if adverts else None

    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p1)
    assert lab.wait_for(lambda: effective_priority(lab, p1) == 90, WAIT), lab.log(p1)  # a backup sends nothing
    proc = subprocess.Popen([str(binary), "600"])
    try:
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
        assert lab.wait_for(lambda: r1_priority() == 150, WAIT)
    finally:
        proc.kill()
        proc.wait()
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p1)
    lab.stop(p1)
    lab.stop(p2)
