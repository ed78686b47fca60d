"""The no_accept firewall's nft scripts (applied for real in tests/integration/test_interop_strict.py)."""

from __future__ import annotations

import ipaddress

from vrrptui.net.nftables import VipFirewall, ruleset

ip = ipaddress.ip_address


def test_nothing_blocked_deletes_the_table() -> None:
    assert ruleset(()) == "table inet vrrptui\ndelete table inet vrrptui\n"


def test_ruleset_mirrors_keepalived_sets_and_chains() -> None:
    script = ruleset([(ip("192.168.1.13"), "eth0"), (ip("2001:db8::13"), "eth0"), (ip("fe80::13"), "eth0")])
    assert "set vips4 { type ipv4_addr; elements = { 192.168.1.13 }; }" in script
    assert "set vips6 { type ipv6_addr; elements = { 2001:db8::13 }; }" in script
    assert 'set vips6_link_local { type ipv6_addr . iface_index; elements = { fe80::13 . "eth0" }; }' in script
    assert "type filter hook input priority filter - 1; policy accept;" in script
    assert "type filter hook output priority filter - 1; policy accept;" in script
    assert script.index("icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept") < script.index(
        "ip daddr @vips4 drop")
    assert "ip saddr @vips4 drop" in script and "ip6 saddr . oif @vips6_link_local drop" in script


def test_firewall_rewrites_the_table_per_change_and_only_then() -> None:
    scripts: list[str] = []
    fw = VipFirewall(scripts.append)
    fw.block("VI_1", [(ip("192.168.1.13"), "eth0")])
    fw.block("VI_1", [(ip("192.168.1.13"), "eth0")])  # unchanged: no nft run
    fw.block("VI_2", [(ip("192.168.1.14"), "eth0")])
    assert len(scripts) == 2 and "192.168.1.13, 192.168.1.14" in scripts[-1]
    assert fw.unblock("VI_1") and not fw.unblock("VI_1")
    assert "192.168.1.13" not in scripts[-1] and "192.168.1.14" in scripts[-1]
    fw.unblock("VI_2")
    assert scripts[-1] == ruleset(()) and fw.blocked == {}
