"""kill -9 of a master, then a restart: the VIP the dead run left is removed first, from its journal.

The daemon journals the VIPs it holds next to its per-config lock; the restarted daemon
deletes them before its heavy start-up. A live daemon's journal is never acted on.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0


def journals(lab: Lab, node: str) -> list[Path]:
    return list((lab.node_dir(node) / "run").glob("*.vips"))


def test_killed_master_restarted_removes_its_stale_vip_first_then_takes_over(lab: Lab) -> None:
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
    assert lab.wait_for(lambda: journals(lab, "r1"), WAIT)
    assert journals(lab, "r1")[0].read_text() == f"eth0 {VIP}/24\n"
    p2 = lab.start_vrrptui("r2", conf(100), ["--log-detail"])
    lab.stop(p1, signal.SIGKILL)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1", "r2"], WAIT)  # nothing removes a killed run's VIP
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])  # the same config file
    assert lab.wait_for(lambda: lab.log(p1).count("Starting vrrptui") == 2
                        and "Startup complete" in lab.log(p1).rsplit("Starting vrrptui", 1)[1], WAIT)
    log = lab.log(p1).rsplit("Starting vrrptui", 1)[1]
    assert "left by an earlier run (killed)" in log, lab.log(p1) + lab.log(p2)
    assert log.index("left by an earlier run (killed)") < log.index("Startup complete")
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p2)
    lab.stop(p1)
    assert lab.wait_for(lambda: not journals(lab, "r1"), WAIT)  # a clean stop holds nothing: no journal


def test_a_live_daemons_journal_is_left_alone(lab: Lab) -> None:
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
    second = lab.start_vrrptui("r1", conf(150), ["--log-detail"], tag="vrrptui")  # same config: refused
    assert lab.wait_for(lambda: second.poll() is not None, WAIT)
    assert lab.vip_holders(VIP) == ["r1"]
    assert "left by an earlier run" not in lab.log(p1)
