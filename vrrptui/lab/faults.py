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
