"""Faults a router meets in real life, injected into a Lab: host network events, partitions, loss.

Everything happens inside the lab's namespaces: `ip` for addresses and interfaces, nftables
(this kernel has no netem) for partitions and packet loss. The tests and
benchmarks/faults.py share these, so what the benchmark measures is what the tests check.

    delete_vip(lab, "r1", "192.168.1.100/24")
    delete_primary(lab, "r1"); restore_primary(lab, "r1")
    recreate_interface(lab, "r1")
    partition(lab, "r1", "r2"); heal_partition(lab)
    drop_vrrp(lab, "r2", 0.5); clear_loss(lab, "r2")
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from datetime import datetime

from vrrptui.lab.netns import BRIDGE, Lab, LabError

PARTITION_TABLE = "vrrptui_partition"
LOSS_TABLE = "vrrptui_loss"


def _ip(lab: Lab, node: str, *args: str) -> None:
    lab.exec(node, ["ip", *args], check=True)


def _nft(lab: Lab, node: str, script: str) -> None:
    proc = lab.exec(node, ["nft", "-f", "-"], input=script)
    if proc.returncode != 0:
        raise LabError(f"{lab.ns(node)}: nft failed: {proc.stderr.strip()}\n{script}")


def delete_vip(lab: Lab, node: str, vip: str) -> None:
    """`ip addr del VIP dev IF`, as an operator or a network script would."""
    _ip(lab, node, "addr", "del", vip, "dev", lab.iface(node))


def primary_prefix(lab: Lab, node: str) -> str:
    return f"{lab.ip4(node)}/{lab.v4_net.prefixlen}"


def delete_primary(lab: Lab, node: str) -> None:
    """Delete the node's own IPv4 address; the kernel flushes the same subnet's secondaries (the VIP)."""
    _ip(lab, node, "addr", "del", primary_prefix(lab, node), "dev", lab.iface(node))


def restore_primary(lab: Lab, node: str) -> None:
    _ip(lab, node, "addr", "add", primary_prefix(lab, node), "dev", lab.iface(node))


def delete_interface(lab: Lab, node: str) -> None:
    """Delete the node's segment interface (and with it the veth's bridge end)."""
    _ip(lab, node, "link", "del", lab.iface(node))


def create_interface(lab: Lab, node: str) -> None:
    """A new veth under the old name, plugged into the bridge, with the node's old addresses."""
    ifname, port = lab.iface(node), lab.port(node)
    _ip(lab, BRIDGE, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", lab.ns(node))
    _ip(lab, BRIDGE, "link", "set", port, "master", lab.bridge_name)
    _ip(lab, BRIDGE, "link", "set", port, "up")
    _ip(lab, node, "addr", "add", primary_prefix(lab, node), "dev", ifname)
    _ip(lab, node, "addr", "add", f"{lab.ip6(node)}/{lab.v6_net.prefixlen}", "dev", ifname, "nodad")
    _ip(lab, node, "link", "set", ifname, "up")


def recreate_interface(lab: Lab, node: str) -> None:
    delete_interface(lab, node)
    create_interface(lab, node)


def partition(lab: Lab, a: str, b: str) -> None:
    """The bridge stops forwarding between A and B (both still reach every other node)."""
    pa, pb = lab.port(a), lab.port(b)
    _nft(lab, BRIDGE, f"""
table bridge {PARTITION_TABLE} {{
    chain forward {{
        type filter hook forward priority 0; policy accept;
        iifname "{pa}" oifname "{pb}" drop
        iifname "{pb}" oifname "{pa}" drop
    }}
}}
""")


def heal_partition(lab: Lab) -> None:
    _nft(lab, BRIDGE, f"delete table bridge {PARTITION_TABLE}\n")


def drop_vrrp(lab: Lab, node: str, probability: float) -> None:
    """Drop each VRRP packet (IPv4 and IPv6) arriving at NODE with PROBABILITY, independently."""
    percent = round(probability * 100)
    if not 0 <= percent <= 100:
        raise LabError(f"loss probability {probability}: use 0-1")
    _nft(lab, node, f"""
table inet {LOSS_TABLE} {{
    chain input {{
        type filter hook input priority 0; policy accept;
        meta l4proto 112 numgen random mod 100 < {percent} drop
    }}
}}
""")


def clear_loss(lab: Lab, node: str) -> None:
    _nft(lab, node, f"delete table inet {LOSS_TABLE}\n")


def _realtime() -> list[str]:
    """`chrt -f 50` when this host allows real-time scheduling, else nothing."""
    try:
        subprocess.run(["chrt", "-f", "50", "true"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return ["chrt", "-f", "50"]


class AddressWatch:
    """`ip -ts monitor address` in each router: when the VIP came and went, to the microsecond.

    The monitors run at a real-time priority where allowed: `ip` stamps an event when it reads it, and
    at the daemon's own priority it read the VIP's arrival only once the daemon under test let go of
    the CPU (logs, notify scripts after a takeover: 0.1-0.3 ms with 2 CPUs), which counted as nobody
    holding a VIP that the kernel held already.

    `nobody(vip, after)` / `both(vip, after)` give the longest time after `after` during which no
    router / more than one router held the VIP, and `first(...)` the first add or delete seen.
    """

    def __init__(self, lab: Lab, nodes: tuple[str, ...] | None = None) -> None:
        self.lab = lab
        self.nodes = nodes or lab.routers
        self._paths = {n: lab.workdir / f"{n}-addr-monitor.txt" for n in self.nodes}
        monitor = [*_realtime(), "ip", "-ts", "monitor", "address"]
        self.monitors = []
        for node, path in self._paths.items():
            with open(path, "w") as out:
                self.monitors.append(lab.popen(node, monitor, stdout=out, stderr=subprocess.DEVNULL))
        time.sleep(0.2)  # the monitors subscribe before anything happens

    def events(self, vip: str) -> list[tuple[float, str, bool]]:
        """(epoch time, node, added) for VIP on any watched router, in time order."""
        found: list[tuple[float, str, bool]] = []
        for node, path in self._paths.items():
            for line in path.read_text(errors="replace").splitlines():
                m = _MONITOR_RE.match(line)
                if m and m["address"] == vip:
                    found.append((datetime.fromisoformat(m["time"]).timestamp(), node, not m["deleted"]))
        return sorted(found)

    def first(self, vip: str, node: str, added: bool, after: float) -> float | None:
        return next((t for t, n, a in self.events(vip) if n == node and a == added and t >= after), None)

    def _longest(self, vip: str, after: float, until: float, wanted: Callable[[int], bool]) -> float:
        """Longest stretch of [after, until] during which `wanted(number of holders)` held."""
        held: set[str] = set()  # the monitors start before any daemon: nobody holds it at first
        longest, since = 0.0, (after if wanted(0) else None)
        for t, node, added in [*self.events(vip), (until, "", True)]:
            t = min(max(t, after), until)
            if node:
                (held.add if added else held.discard)(node)
            if since is not None and not wanted(len(held)):
                longest, since = max(longest, t - since), None
            elif since is None and wanted(len(held)):
                since = t
        if since is not None:
            longest = max(longest, until - since)
        return longest

    def nobody(self, vip: str, after: float, until: float) -> float:
        return self._longest(vip, after, until, lambda n: n == 0)

    def both(self, vip: str, after: float, until: float) -> float:
        return self._longest(vip, after, until, lambda n: n >= 2)


_MONITOR_RE = re.compile(r"^\[(?P<time>[\d\-T:.]+)\] (?P<deleted>Deleted )?\d+: \S+\s+inet6? (?P<address>[^/\s]+)/")
