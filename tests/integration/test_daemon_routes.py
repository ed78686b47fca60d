"""virtual_routes / virtual_rules follow MASTER; static_ipaddress / static_routes / static_rules live with the daemon.

Routers r1 (192.168.1.11) and r2 (.12) and client pc1 (.2) on one bridge (VRRPv3, 0.1 s). What is
asserted is what the kernel holds in each router's namespace (`ip route` / `ip rule`), as keepalived
installs it: a master's virtual routes and rules are there, a backup's are not, and a stopped daemon
leaves none of what it added.
"""

from __future__ import annotations

import signal
import subprocess
from typing import Any

import psutil
import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # upper bound for anything to happen; never a performance claim

ROUTES = f"""
    virtual_routes {{
        src {VIP} to 10.77.0.0/16 via 192.168.1.2 dev eth0 metric 7
        default via 192.168.1.2 table 77
    }}
    virtual_rules {{
        from {VIP} table 77 priority 77
    }}
"""


def kernel(lab: Lab, node: str) -> str:
    routes = lab.exec(node, ["ip", "route", "show", "table", "all"], check=True).stdout
    rules = lab.exec(node, ["ip", "rule", "show"], check=True).stdout
    return routes + rules


def line_with(text: str, *parts: str) -> bool:
    return any(all(part in line for part in parts) for line in text.splitlines())


def has_virtual(lab: Lab, node: str) -> bool:
    text = kernel(lab, node)
    return (line_with(text, "10.77.0.0/16 via 192.168.1.2 dev eth0", f"src {VIP}", "metric 7")
            and line_with(text, "default via 192.168.1.2 dev eth0 table 77") and f"77:\tfrom {VIP} lookup 77" in text)


def has_none(lab: Lab, node: str) -> bool:
    text = kernel(lab, node)
    return "10.77.0.0/16" not in text and "table 77" not in text and "lookup 77" not in text


def logs(lab: Lab, *procs: subprocess.Popen[Any]) -> str:
    return "\n".join(f"--- {p.node} ---\n{lab.log(p)}" for p in procs)  # type: ignore[attr-defined]


def test_virtual_routes_and_rules_are_installed_as_master_only(lab: Lab) -> None:
    p1 = lab.start_vrrptui("r1", conf(150, extra=ROUTES), ["--log-detail"])
    p2 = lab.start_vrrptui("r2", conf(100, extra=ROUTES), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: has_virtual(lab, "r1"), WAIT), kernel(lab, "r1") + logs(lab, p1)
    assert has_none(lab, "r2"), kernel(lab, "r2")

    # r1 stops: its routes and rules go with it, r2 takes over and installs its own
    assert lab.stop(p1) == 0
    assert has_none(lab, "r1"), kernel(lab, "r1")
    assert lab.wait_for(lambda: has_virtual(lab, "r2"), WAIT), kernel(lab, "r2") + logs(lab, p2)

    # r1 comes back and preempts: r2, back to BACKUP, removes them
    p1 = lab.start_vrrptui("r1", conf(150, extra=ROUTES), ["--log-detail"], tag="vrrptui-again")
    assert lab.wait_for(lambda: has_virtual(lab, "r1"), WAIT), kernel(lab, "r1") + logs(lab, p1)
    assert lab.wait_for(lambda: has_none(lab, "r2"), WAIT), kernel(lab, "r2") + logs(lab, p2)
    assert lab.stop(p1) == 0 and lab.stop(p2) == 0
    assert has_none(lab, "r1") and has_none(lab, "r2")


def test_a_killed_runs_virtual_routes_are_taken_over_by_the_next_run_and_removed_with_it(lab: Lab) -> None:
    # kill -9 of the daemon and its guardian: its routes and rule stay (not journalled). The next run, master
    # again, found them there (EEXIST), left them out of what it had added, and never removed them: after
    # its clean stop the routes stayed for good, beside the new master's. keepalived removes them.
    p1 = lab.start_vrrptui("r1", conf(150, extra=ROUTES), ["--log-detail"])
    assert lab.wait_for(lambda: has_virtual(lab, "r1"), WAIT), kernel(lab, "r1") + logs(lab, p1)
    daemon = psutil.Process(p1.pid)
    for proc in [*daemon.children(recursive=True), daemon]:  # the guardian first: nothing resigns
        proc.send_signal(signal.SIGKILL)
    assert lab.wait_for(lambda: p1.poll() is not None, WAIT)
    assert has_virtual(lab, "r1")
    p1 = lab.start_vrrptui("r1", conf(150, extra=ROUTES), ["--log-detail"], tag="vrrptui-again")
    assert lab.wait_for(lambda: "Entering MASTER STATE" in lab.log(p1), WAIT), logs(lab, p1)
    assert lab.wait_for(lambda: "was there already: taken as this instance's" in lab.log(p1), WAIT), logs(lab, p1)
    assert lab.stop(p1) == 0
    assert has_none(lab, "r1"), kernel(lab, "r1")


def test_static_addresses_routes_and_rules_live_as_long_as_the_daemon(lab: Lab) -> None:
    static = """
static_ipaddress {
    10.88.0.1/24 dev eth0
}
static_routes {
    10.89.0.0/16 via 192.168.1.2 dev eth0
    blackhole 10.90.0.0/16 table 88
}
static_rules {
    to 10.91.0.0/16 table 88 priority 88
}
"""
    # r2 alone at priority 100 with a peer that never answers would become MASTER; static entries do not care
    p2 = lab.start_vrrptui("r2", conf(100, top=static), ["--log-detail"])

    def present() -> bool:
        text = kernel(lab, "r2") + lab.exec("r2", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout
        return (line_with(text, "10.89.0.0/16 via 192.168.1.2 dev eth0")
                and line_with(text, "blackhole 10.90.0.0/16 table 88")
                and "88:\tfrom all to 10.91.0.0/16 lookup 88" in text and "inet 10.88.0.1/24" in text)

    assert lab.wait_for(present, WAIT), kernel(lab, "r2") + logs(lab, p2)
    assert lab.stop(p2) == 0
    text = kernel(lab, "r2") + lab.exec("r2", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout
    assert "10.89.0.0" not in text and "10.90.0.0" not in text and "10.91.0.0" not in text and "10.88.0.1" not in text

