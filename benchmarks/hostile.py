"""Hostile packets against keepalived 2.2.7 and vrrptui, side by side in the namespace lab (not a test).

Routers r1 (priority 150, master) and r2 (100, backup) of one implementation, the attacker `evil`
on the same bridge sending scapy-built adverts (vrrptui.lab.hostile):

1. TTL 63 advert, priority 254, interval 40.95 s, to each router's own address: who holds the VIP 2 s later.
2. Spoofed priority-255 adverts from a higher address against an address owner (priority 255): does it stay master.
3. 100,000 wrong-password adverts (VRRPv2, PASS) from random sources at 10,000/s into the backup:
   backup RSS before/after, log lines, transitions of either router.
4. 20,000 lower-priority adverts from random sources at 10,000/s into the master: adverts it sends meanwhile.

Prints a table and writes benchmarks/hostile-results.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psutil

from vrrptui.lab.hostile import MCAST, Attacker, v2_advert, v3_advert
from vrrptui.lab.netns import VIP, Lab

RESULTS = Path(__file__).with_name("hostile-results.json")
EVIL = "evil"


def conf(priority: int, version: int) -> str:
    if version == 2:
        timing = "advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass 1212\n    }"
    else:
        timing = "advert_int 0.1\n    version 3"
    return (f"vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n"
            f"    priority {priority}\n    {timing}\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n")


def start(lab: Lab, impl: str, node: str, text: str) -> Any:
    if impl == "keepalived":
        return lab.start_keepalived(node, text)
    return lab.start_vrrptui(node, text, ["--log-detail"])


def rss_mb(proc: Any) -> float:
    """RSS of the process tree (keepalived: parent + VRRP child)."""
    root = psutil.Process(proc.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 1e6


def transitions(lab: Lab, proc: Any) -> int:
    return lab.log(proc).count("Entering MASTER STATE") + lab.log(proc).count("Entering BACKUP STATE")


def with_lab(body: Any) -> Any:
    lab = Lab(clients=("pc1", EVIL))
    try:
        for node in ("r1", "r2"):
            lab.sysctl(node, {"net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.eth0.rp_filter": "0"})
        return body(lab, Attacker(lab, EVIL))
    finally:
        lab.down()


def ttl_case(impl: str) -> dict[str, Any]:
    def body(lab: Lab, evil: Attacker) -> dict[str, Any]:
        start(lab, impl, "r1", conf(150, 3))
        start(lab, impl, "r2", conf(100, 3))
        lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10)
        for node in ("r1", "r2"):
            evil.send(v3_advert(lab.ip4(EVIL), lab.ip4(node), priority=254, ttl=63, interval_cs=4095))
        time.sleep(2.0)
        return {"holders_2s_later": lab.vip_holders(VIP)}
    return with_lab(body)


def owner_case(impl: str) -> dict[str, Any]:
    def body(lab: Lab, evil: Attacker) -> dict[str, Any]:
        p1 = start(lab, impl, "r1", conf(255, 3))
        lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10)
        for _ in range(20):
            evil.send(v3_advert("192.168.1.250", MCAST, priority=255))
        time.sleep(1.0)
        return {"owner_holds_vip": lab.vip_holders(VIP) == ["r1"], "owner_transitions": transitions(lab, p1) - 1}
    return with_lab(body)


def flood_case(impl: str) -> dict[str, Any]:
    def body(lab: Lab, evil: Attacker) -> dict[str, Any]:
        p1 = start(lab, impl, "r1", conf(150, 2))
        p2 = start(lab, impl, "r2", conf(100, 2))
        lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 15)
        time.sleep(4.0)
        before, t1, t2 = rss_mb(p2), transitions(lab, p1), transitions(lab, p2)
        lines = lab.log(p2).count("invalid passwd")
        seconds = evil.flood(v2_advert("10.0.0.1", MCAST, priority=200, password=b"9999"), 100_000, 10_000)
        time.sleep(3.0)
        return {"sent": evil.sent, "seconds": round(seconds, 1), "rss_before_mb": round(before, 1),
                "rss_after_mb": round(rss_mb(p2), 1), "log_lines": lab.log(p2).count("invalid passwd") - lines,
                "transitions": transitions(lab, p1) - t1 + transitions(lab, p2) - t2,
                "holders": lab.vip_holders(VIP)}
    return with_lab(body)


def reply_case(impl: str) -> dict[str, Any]:
    def body(lab: Lab, evil: Attacker) -> dict[str, Any]:
        start(lab, impl, "r1", conf(150, 3))
        lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10)
        capture = lab.capture(bpf="vrrp and src host 192.168.1.11")
        time.sleep(1.0)
        began = time.time()
        seconds = evil.flood(v3_advert("10.0.0.1", MCAST, priority=50), 20_000, 10_000)
        time.sleep(1.0)
        ended = time.time()
        out = [a for a in capture.adverts() if began <= a.time <= ended]
        return {"sent": evil.sent, "seconds": round(seconds, 1), "window_s": round(ended - began, 1),
                "adverts_out": len(out)}
    return with_lab(body)


def main() -> None:
    cases = {"ttl63_unicast": ttl_case, "owner_spoof": owner_case, "wrong_password_flood": flood_case,
             "lower_priority_flood": reply_case}
    results: dict[str, dict[str, Any]] = {}
    for name, case in cases.items():
        for impl in ("keepalived", "vrrptui"):
            results.setdefault(name, {})[impl] = case(impl)
            print(f"{name:22} {impl:10} {results[name][impl]}", flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
