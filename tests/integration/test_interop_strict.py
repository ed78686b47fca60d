"""`vrrp_strict` and Accept_Mode next to keepalived 2.2.7.

A strict keepalived and a strict vrrptui ignore the configured authentication alike and
agree on the wire; a master without Accept_Mode drops pings to its VIP with nftables in
its own namespace (keepalived's `table ip keepalived`, vrrptui's `table inet vrrptui`),
a master with it answers, and vrrptui's table is gone when it is backup and after exit.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from test_interop_keepalived import WAIT, holders, keepalived_state, status_when
from vrrptui.lab.netns import Lab

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

VIP = "192.168.1.13"
STRICT = "global_defs {\n    vrrp_strict\n}\n"


def conf(*, priority: int, top: str = STRICT, body: str = "", state: str = "BACKUP") -> str:
    return f"""{top}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 150
    priority {priority}
    advert_int 1
{body}    authentication {{
        auth_type PASS
        auth_pass secret
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"""


def pings(lab: Lab, node: str = "pc1") -> bool:
    out = lab.exec(node, ["ping", "-c", "2", "-i", "0.2", "-W", "1", VIP])
    return out.returncode == 0


def nft_tables(lab: Lab, node: str) -> str:
    return lab.exec(node, ["nft", "list", "tables"]).stdout


def test_strict_keepalived_and_strict_vrrptui_agree_on_the_wire(make_lab, keepalived_ok: str,
                                                                tcpdump_ok: str) -> None:
    lab: Lab = make_lab()
    cap = lab.capture(bpf="vrrp")
    vt = lab.start_vrrptui("r1", conf(priority=150, state="MASTER"), ["--log-detail"])
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r1"], WAIT), lab.log(vt)
    ka = lab.start_keepalived("r2", conf(priority=100))
    assert lab.wait_for(lambda: keepalived_state(lab, ka) == "BACKUP", WAIT), lab.log(ka)
    st = status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_sent"] > 3)
    assert st is not None
    assert status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_sent"] > st["counters"]["adverts_sent"] + 4)
    vt_log, ka_log = lab.log(vt), lab.log(ka)
    for log in (vt_log, ka_log):
        assert "(VI_1) Strict mode does not support authentication. Ignoring." in log
    assert "State MASTER must match being address owner" in vt_log
    assert "(VI_1) setting firewall drop rule" in vt_log and "table inet vrrptui" in nft_tables(lab, "r1")
    assert not pings(lab)  # strict VRRPv2: no Accept_Mode, the master drops it
    assert "Entering MASTER STATE" not in ka_log and "auth" not in ka_log.split("Startup complete")[-1], ka_log

    # keepalived takes over when vrrptui resigns, and vrrptui comes back as its backup
    assert lab.stop(vt, signal.SIGTERM) == 0
    assert "(VI_1) removing firewall drop rule" in lab.log(vt) and nft_tables(lab, "r1") == ""
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r2"], WAIT), lab.log(ka)
    vt = lab.start_vrrptui("r1", conf(priority=90), ["--log-detail"], tag="vrrptui-backup")
    st = status_when(lab, "r1", vt, lambda s: s["counters"]["adverts_received"] >= 2)
    assert st is not None and (st["state"], st["master_priority"]) == ("BACKUP", 100), lab.log(vt)
    assert sum(st["counters"]["drops"].values()) == 0, st["counters"]
    assert "vrrptui" not in nft_tables(lab, "r1")  # a backup blocks nothing
    assert not pings(lab) and not pings(lab, "r1")  # keepalived's master drops it too, from anyone
    lab.stop(vt, signal.SIGTERM)
    lab.stop(ka, signal.SIGTERM)

    # the witness: the same advert from both, no authentication
    cap.stop()
    lines = cap.read(["-v"])
    by_source = {src: [line for line in lines if f"{src} > 224.0.0.18" in line] for src in (lab.ip4("r1"),
                                                                                         lab.ip4("r2"))}
    assert all(by_source.values()), lines
    assert all("authtype none" in line for line in lines if "VRRPv2" in line), lines


CASES = {
    # strict VRRPv2 non-owner: keepalived never accepts (RFC 3768 has no Accept_Mode)
    "strict-v2": conf(priority=150),
    "strict-v2-accept-reset": conf(priority=150, body="    accept\n"),
    # strict VRRPv3 with `accept`: answered
    "strict-v3-accept": conf(priority=150, body="    version 3\n    accept\n"),
    # not strict, `no_accept`: dropped
    "no_accept": conf(priority=150, top="", body="    no_accept\n"),
    # not strict: keepalived accepts by default
    "default": conf(priority=150, top=""),
}


def master_answers(lab: Lab, start: Any, node: str) -> tuple[bool, str]:
    """Run one router alone until it is master; does it answer a ping to its VIP? (and its nft tables)"""
    proc = start()
    try:
        assert lab.wait_for(lambda: holders(lab, VIP) == [node], WAIT), lab.log(proc)
        return pings(lab), nft_tables(lab, node)
    finally:
        lab.stop(proc, signal.SIGTERM)


@pytest.mark.parametrize("case", list(CASES))
def test_ping_to_the_vip_as_keepalived_answers_it(make_lab, keepalived_ok: str, case: str) -> None:
    lab: Lab = make_lab()
    text = CASES[case]
    ka_answers, ka_tables = master_answers(lab, lambda: lab.start_keepalived("r1", text), "r1")
    vt_answers, vt_tables = master_answers(lab, lambda: lab.start_vrrptui("r1", text), "r1")
    assert vt_answers == ka_answers
    assert ("table ip keepalived" in ka_tables) == (not ka_answers)
    assert ("table inet vrrptui" in vt_tables) == (not vt_answers)
    assert nft_tables(lab, "r1") == ""  # both removed their tables on exit


def test_reload_to_accept_removes_the_drop_rule(make_lab) -> None:
    lab: Lab = make_lab()
    fast = "    version 3\n    advert_int 0.1\n"
    vt = lab.start_vrrptui("r1", conf(priority=150, top="", body=fast + "    no_accept\n"), ["--log-detail"])
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r1"], WAIT), lab.log(vt)
    assert "table inet vrrptui" in nft_tables(lab, "r1") and not pings(lab)
    vt.conf_path.write_text(conf(priority=150, top="", body=fast))  # type: ignore[attr-defined]
    vt.send_signal(signal.SIGHUP)
    assert lab.wait_for(lambda: "Reload complete" in lab.log(vt), WAIT), lab.log(vt)
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r1"], WAIT), lab.log(vt)
    assert nft_tables(lab, "r1") == "" and pings(lab), lab.log(vt)
    assert lab.stop(vt, signal.SIGTERM) == 0


def test_a_killed_run_leaves_the_table_and_the_next_run_removes_it(make_lab) -> None:
    lab: Lab = make_lab()
    fast = "    version 3\n    advert_int 0.1\n    no_accept\n"
    vt = lab.start_vrrptui("r1", conf(priority=150, top="", body=fast))
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r1"], WAIT), lab.log(vt)
    lab.kill_tree(vt)
    assert "table inet vrrptui" in nft_tables(lab, "r1")  # nothing ran to remove it
    vt = lab.start_vrrptui("r1", conf(priority=150, top="", body=fast.replace("no_accept", "accept")), tag="again")
    assert lab.wait_for(lambda: "Startup complete" in lab.log(vt), WAIT), lab.log(vt)
    assert lab.wait_for(lambda: holders(lab, VIP) == ["r1"] and pings(lab), WAIT), lab.log(vt)
    assert nft_tables(lab, "r1") == ""
