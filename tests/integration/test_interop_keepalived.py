"""vrrptui next to Debian's keepalived 2.2.x: each side as master and as backup.

For each flavour (VRRPv2 unicast with PASS auth as in the DENT seed, VRRPv3 multicast
IPv4 and VRRPv3 IPv6) one story: vrrptui on r1 starts with `state MASTER` and wins,
keepalived on r2 is its backup; vrrptui resigns with priority 0 and keepalived takes
over; vrrptui comes back as a lower-priority backup; keepalived resigns with priority 0
and vrrptui takes over. The logs, `vrrptui status` and the VIP's location are checked
at each step.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from typing import Any

import pytest

from vrrptui.lab.namespaces import vrrptui_command
from vrrptui.lab.netns import Lab

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

WAIT = 15.0  # v2 at 1 s needs Master_Down_Interval ~3.6 s; this only bounds a hang


def instance(*, state: str, priority: int, body: str, vips: str, name: str = "VI_1") -> str:
    return f"""
vrrp_instance {name} {{
    state {state}
    interface eth0
    virtual_router_id 150
    priority {priority}
{body}
    virtual_ipaddress {{
        {vips}
    }}
}}
"""


def dent_v2(lab: Lab, me: str, peer: str, password: str = "1212") -> str:
    """The DENT seed's shape: VRRPv2, unicast between the two routers, PASS auth, 1 s."""
    return f"""
    advert_int 1
    unicast_src_ip {lab.ip4(me)}
    unicast_peer {{
        {lab.ip4(peer)}
    }}
    authentication {{
        auth_type PASS
        auth_pass {password}
    }}
"""


V3 = """
    version 3
    advert_int 0.1
"""

FLAVOURS = {
    "v2-unicast-pass": ("192.168.1.13/24", "192.168.1.13"),
    "v3-multicast-ipv4": ("192.168.1.13/24", "192.168.1.13"),
    "v3-ipv6": ("2001:db8:1::13/64", "2001:db8:1::13"),
}


def body(flavour: str, lab: Lab, me: str, peer: str) -> str:
    return dent_v2(lab, me, peer) if flavour.startswith("v2") else V3


def vrrptui_status(lab: Lab, node: str, proc: subprocess.Popen[Any]) -> dict[str, Any]:
    sock = lab.node_dir(node) / "run" / f"{proc.pid}.sock"
    out = lab.exec(node, [*vrrptui_command(), "status", "--json", "--socket", str(sock)])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["daemons"][0]["instances"][0]


def status_when(lab: Lab, node: str, proc: subprocess.Popen[Any], pred: Any) -> dict[str, Any] | None:
    """Poll `vrrptui status` until pred(status) holds (the socket appears once the daemon is up)."""
    def check() -> dict[str, Any] | None:
        try:
            st = vrrptui_status(lab, node, proc)
        except (AssertionError, ValueError, IndexError):
            return None
        return st if pred(st) else None

    return lab.wait_for(check, WAIT, 0.05)


def keepalived_state(lab: Lab, proc: subprocess.Popen[Any]) -> str | None:
    states = re.findall(r"\(VI_1\) Entering (\w+) STATE", lab.log(proc))
    return states[-1] if states else None


def holders(lab: Lab, address: str) -> list[str]:
    return lab.vip_holders(address)


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_vrrptui_and_keepalived_hand_over_both_ways(make_lab, keepalived_ok: str, flavour: str) -> None:
    lab: Lab = make_lab()
    vip_conf, vip = FLAVOURS[flavour]

    # 1. vrrptui master, keepalived backup (keepalived starts once vrrptui is master, so it never has to preempt)
    vt = lab.start_vrrptui("r1", instance(state="MASTER", priority=101, body=body(flavour, lab, "r1", "r2"),
                                          vips=vip_conf), ["--log-detail"])
    assert lab.wait_for(lambda: holders(lab, vip) == ["r1"], WAIT), lab.log(vt)
    ka = lab.start_keepalived("r2", instance(state="BACKUP", priority=100, body=body(flavour, lab, "r2", "r1"),
                                             vips=vip_conf))
    assert lab.wait_for(lambda: keepalived_state(lab, ka) == "BACKUP", WAIT), lab.log(ka)
    st = status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_sent"] > 3)
    assert st is not None and st["state"] == "MASTER"
    # keepalived stays backup for as long as its own Master_Down_Interval and then some
    assert status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_sent"] > st["counters"]["adverts_sent"] + 4)
    assert holders(lab, vip) == ["r1"]
    ka_log = lab.log(ka)
    assert "invalid passwd" not in ka_log and "checksum" not in ka_log.lower(), ka_log
    assert "Entering MASTER STATE" not in ka_log  # keepalived accepted every advert of ours

    # 2. vrrptui resigns with priority 0: keepalived takes over
    assert lab.stop(vt, signal.SIGTERM) == 0
    assert lab.wait_for(lambda: holders(lab, vip) == ["r2"], WAIT), lab.log(ka)
    assert lab.wait_for(lambda: keepalived_state(lab, ka) == "MASTER", WAIT)
    assert "(VI_1) Backup received priority 0 advertisement" in lab.log(ka)

    # 3. vrrptui returns with a lower priority and stays backup to keepalived
    vt = lab.start_vrrptui("r1", instance(state="BACKUP", priority=90, body=body(flavour, lab, "r1", "r2"),
                                          vips=vip_conf), ["--log-detail"], tag="vrrptui-backup")
    st = status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_received"] >= 2)
    assert st is not None, lab.log(vt)
    assert (st["state"], st["master_priority"]) == ("BACKUP", 100), lab.log(vt)
    assert st["master_address"] in (lab.ip4("r2"), lab.ip6("r2"), lab.link_local("r2"))
    assert sum(st["counters"]["drops"].values()) == 0, st["counters"]
    assert holders(lab, vip) == ["r2"]

    # 4. keepalived resigns with priority 0: vrrptui takes over
    lab.stop(ka, signal.SIGTERM)
    assert lab.wait_for(lambda: holders(lab, vip) == ["r1"], WAIT), lab.log(vt)
    log = lab.log(vt)
    assert "(VI_1) Backup received priority 0 advertisement" in log
    assert "(VI_1) Entering MASTER STATE" in log
    assert vrrptui_status(lab, "r1", vt)["counters"]["priority_zero_received"] == 1


def test_mismatched_password_both_become_master_and_vrrptui_counts_auth_drops(make_lab, keepalived_ok: str) -> None:
    lab: Lab = make_lab()
    ka = lab.start_keepalived("r2", instance(state="MASTER", priority=100, body=dent_v2(lab, "r2", "r1", "other"),
                                             vips="192.168.1.13/24"))
    vt = lab.start_vrrptui("r1", instance(state="MASTER", priority=101, body=dent_v2(lab, "r1", "r2", "1212"),
                                          vips="192.168.1.13/24"), ["--log-detail"])
    # neither accepts the other's adverts: both end up master (split brain, by configuration)
    assert lab.wait_for(lambda: sorted(holders(lab, "192.168.1.13")) == ["r1", "r2"], WAIT), lab.log(vt) + lab.log(ka)
    st = status_when(lab, "r1", vt, lambda s: s["counters"]["drops"]["auth"] >= 2)
    assert st is not None and st["state"] == "MASTER", lab.log(vt)
    assert f"received an invalid passwd from {lab.ip4('r2')}" in lab.log(vt)
    assert keepalived_state(lab, ka) == "MASTER"


def test_a_password_beyond_ascii_is_the_bytes_keepalived_sends(make_lab, keepalived_ok: str) -> None:
    """keepalived puts the password's bytes as written (UTF-8) on the wire: vrrptui reads `p€ss` the same way
    and accepts keepalived's adverts (it sent `é` as one byte before, and `€` stopped it at start)."""
    lab: Lab = make_lab()
    ka = lab.start_keepalived("r2", instance(state="MASTER", priority=101, body=dent_v2(lab, "r2", "r1", "p€ss"),
                                             vips="192.168.1.13/24"))
    vt = lab.start_vrrptui("r1", instance(state="BACKUP", priority=100, body=dent_v2(lab, "r1", "r2", "p€ss"),
                                          vips="192.168.1.13/24"), ["--log-detail"])
    st = status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_received"] >= 2)
    assert st is not None, lab.log(vt)
    assert st["state"] == "BACKUP" and st["counters"]["drops"]["auth"] == 0, (st, lab.log(vt))
    assert holders(lab, "192.168.1.13") == ["r2"], lab.log(ka)
