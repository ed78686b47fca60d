"""A reload that renames a use_vmac instance's VMAC (`use_vmac` -> `use_vmac vmac1`).

The new macvlan would carry the same virtual MAC on the same base interface as the running one, which the
kernel refuses to bring up while the old one exists (and the old one holds the master's VIP). The reload is
refused as a whole: the daemon keeps running with its configuration, the instance stays MASTER with its VIP on
the old VMAC, and no half-made interface is left behind. Before: pyroute2's error escaped the reload and the
daemon stopped.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from test_daemon_failover import WAIT, status, wait_holders

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

R1 = "192.168.1.11"
OLD, NEW = "vrrp.51", "vmac1"


def link_exists(lab: Lab, name: str) -> bool:
    return lab.exec("r1", ["ip", "link", "show", "dev", name]).returncode == 0


def on_link(lab: Lab, name: str) -> bool:
    return any(a.get("local") == VIP for a in lab._addr_json("r1", name)) if link_exists(lab, name) else False


def reload(lab: Lab, p: subprocess.Popen[Any], text: str) -> str:
    """Write `text`, send SIGHUP, and give what the daemon logged from then on, once the reload ended."""
    since = len(lab.log(p))
    Path(p.conf_path).write_text(text)  # type: ignore[attr-defined]
    p.send_signal(signal.SIGHUP)
    lab.wait_for(lambda: p.poll() is not None
                 or any(w in lab.log(p)[since:] for w in ("Reload complete", "Reload failed")), WAIT)
    time.sleep(0.5)  # a daemon that stops after the reload's outcome is logged has stopped by now
    return lab.log(p)[since:]


def test_renaming_a_vmac_by_reload_is_refused_and_the_master_keeps_its_vip(lab: Lab) -> None:
    first = conf(150, extra="use_vmac")
    p = lab.start_vrrptui("r1", first, ["--log-detail"])
    assert wait_holders(lab, ["r1"]) and on_link(lab, OLD), lab.log(p)
    cap = lab.capture()

    after = reload(lab, p, conf(150, extra=f"use_vmac {NEW}"))

    assert p.poll() is None, lab.log(p)
    assert "Traceback" not in lab.log(p) and "internal error" not in lab.log(p), lab.log(p)
    assert "Reload failed while applying the new configuration" in after and NEW in after, after
    assert "Reload complete" not in after, after
    assert not link_exists(lab, NEW), lab.exec("r1", ["ip", "link"]).stdout  # nothing half made
    assert on_link(lab, OLD) and lab.vip_holders(VIP) == ["r1"], after
    assert status(lab, "r1", p)["VI_1"]["state"] == "MASTER"
    assert not [a.line for a in cap.adverts() if a.src == R1 and a.priority == 0]  # it never resigned

    # the running configuration is still the one in force: a reload back to it changes nothing
    after = reload(lab, p, first)
    assert "Reload complete" in after and "Reload failed" not in after, after
    assert p.poll() is None and on_link(lab, OLD) and status(lab, "r1", p)["VI_1"]["state"] == "MASTER"

    assert lab.stop(p, signal.SIGTERM) == 0, lab.log(p)
    assert not link_exists(lab, OLD) and not link_exists(lab, NEW)


@pytest.mark.parametrize("change", ["vrid", "family"])
def test_a_vmac_kept_by_name_whose_mac_would_change_is_refused(lab: Lab, change: str) -> None:
    """`use_vmac vmac1` kept while the instance's VRID (or address family) changes: the macvlan would have kept
    the running instance's virtual MAC (the new VRID's adverts sent from the old one; an IPv6 instance on an
    IPv4 VMAC, whose IPv6 is off, with no VIP and no adverts). The reload is refused; nothing changes."""
    first = conf(150, extra=f"use_vmac {NEW}")
    p = lab.start_vrrptui("r1", first, ["--log-detail"])
    assert wait_holders(lab, ["r1"]) and on_link(lab, NEW), lab.log(p)
    changed = first.replace("virtual_router_id 51", "virtual_router_id 56") if change == "vrid" else \
        first.replace(f"{VIP}/24", "fd00::56/64")
    after = reload(lab, p, changed)
    assert p.poll() is None, lab.log(p)
    assert "Reload failed while applying the new configuration" in after and "cannot remake a VMAC" in after, after
    mac = lab.exec("r1", ["ip", "-br", "link", "show", "dev", NEW]).stdout.split()[2]
    assert mac == "00:00:5e:00:01:33" and on_link(lab, NEW) and lab.vip_holders(VIP) == ["r1"]
    assert status(lab, "r1", p)["VI_1"]["state"] == "MASTER" and status(lab, "r1", p)["VI_1"]["vrid"] == 51
