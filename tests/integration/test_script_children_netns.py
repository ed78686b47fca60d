"""What scripts leave behind, against the headless daemon in a namespace: orphans a vrrp_script
daemonises are reaped (vrrptui is their subreaper), notify scripts are killed with the daemon."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from test_daemon_failover import WAIT, wait_holders

from vrrptui.lab.netns import Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

TOP = """
global_defs {{
    script_user root
}}
vrrp_script chk {{
    script "/bin/sh -c 'setsid sleep 0.3 & exit 0'"
    interval {interval}
}}
"""


def children_of(pid: int) -> dict[int, tuple[str, str]]:
    """pid -> (state, command name) of every process whose parent is `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, rest = (entry / "stat").read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = rest.split()
        if int(fields[1]) == pid:
            found[int(entry.name)] = (fields[0], name)
    return found


def test_orphans_of_a_daemonising_vrrp_script_are_reaped(lab: Lab) -> None:
    interval = 0.2
    proc = lab.start_vrrptui("r1", conf(150, top=TOP.format(interval=interval), extra="track_script {\n chk\n}"))
    assert wait_holders(lab, ["r1"]), lab.log(proc)
    most_zombies, orphans_seen = 0, set()
    end = time.monotonic() + 5.0  # 25 runs, each leaving an orphan that exits 0.3 s later
    while time.monotonic() < end:
        kids = children_of(proc.pid)
        most_zombies = max(most_zombies, sum(1 for state, _ in kids.values() if state == "Z"))
        orphans_seen |= {pid for pid, (state, name) in kids.items() if state != "Z" and name == "sleep"}
        time.sleep(0.1)
    print(f"\nscript daemonising every {interval} s for 5 s: {len(orphans_seen)} orphans were ours, "
          f"at most {most_zombies} unreaped at once")
    assert len(orphans_seen) >= 10  # reparented to vrrptui (its subreaper), not to init
    assert most_zombies <= 1.0 / interval + 2  # reaped within a REAP_PERIOD (1 s)


def test_a_notify_script_does_not_outlive_the_daemon(lab: Lab) -> None:
    pidfile = lab.node_dir("r1") / "notify.pid"
    extra = f"notify_master \"/bin/sh -c 'echo $$ > {pidfile}; exec sleep 300'\""
    proc = lab.start_vrrptui("r1", conf(150, extra=extra))
    assert wait_holders(lab, ["r1"])
    assert lab.wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), WAIT)
    script = int(pidfile.read_text())
    assert lab.stop(proc, signal.SIGTERM) == 0
    assert lab.wait_for(lambda: not _alive(script), WAIT), f"notify script {script} outlived the daemon"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False
