"""vrrptui.net.netlink against the real kernel inside a namespace (addresses checked with `ip`)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from net_helpers import ip, link_mac, namespaces, opened_in, veth, wait_for

from vrrptui.config.model import VirtualAddress
from vrrptui.net.netlink import Netlink

pytestmark = pytest.mark.netns


@pytest.fixture
def lab(netns_ok: None):
    """ns R with eth0 (veth to ns P's peer0) and eth1 (veth to P's peer1); DAD left on."""
    with namespaces("nl-r", "nl-p", dad=True) as (ns_r, ns_p):
        veth(ns_r, "eth0", ns_p, "peer0")
        veth(ns_r, "eth1", ns_p, "peer1")
        ip("-n", ns_r, "addr", "add", "10.0.0.2/24", "dev", "eth0")
        with opened_in(ns_r, Netlink) as netlink:
            yield ns_r, ns_p, netlink


def vip(text: str, **kwargs) -> VirtualAddress:
    return VirtualAddress(ipaddress.ip_interface(text), **kwargs)


def ip_addr(ns: str) -> str:
    return ip("-n", ns, "-o", "addr", "show")


def test_link_lookups(lab):
    ns_r, _, netlink = lab
    assert {"lo", "eth0", "eth1"} <= set(netlink.link_names())
    assert netlink.link_index("eth0") == int(ip("-n", ns_r, "-o", "link", "show", "eth0").split(":")[0])
    assert netlink.link_index("nope0") is None
    assert netlink.link_mac("eth0") == link_mac(ns_r, "eth0")
    with pytest.raises(LookupError, match="nope0"):
        netlink.link_mac("nope0")


def test_link_is_up_follows_the_peer_carrier(lab):
    _, ns_p, netlink = lab
    assert netlink.link_is_up("eth0")
    ip("-n", ns_p, "link", "set", "peer0", "down")
    wait_for(lambda: not netlink.link_is_up("eth0"))
    ip("-n", ns_p, "link", "set", "peer0", "up")
    wait_for(lambda: netlink.link_is_up("eth0"))
    assert not netlink.link_is_up("nope0")


def test_add_vip_with_prefix_and_label_shows_as_alias(lab):
    ns_r, _, netlink = lab
    v = vip("10.0.0.100/24", label="eth0:10")
    assert netlink.add_vip(v, "eth0") is True
    line = next(text for text in ip_addr(ns_r).splitlines() if "10.0.0.100" in text)
    assert "inet 10.0.0.100/24" in line and line.split("\\")[0].rstrip().endswith("eth0:10")
    assert netlink.has_address(v.address)
    assert netlink.has_address(v.address, "eth0")
    assert not netlink.has_address(v.address, "eth1")
    assert ("eth0", v.interface, "eth0:10") in netlink.addresses()
    assert netlink.add_vip(v, "eth0") is False  # already present
    assert netlink.remove_vip(v, "eth0") is True
    assert "10.0.0.100" not in ip_addr(ns_r)
    assert not netlink.has_address(v.address)
    assert netlink.remove_vip(v, "eth0") is False


def test_add_vip_honours_dev_brd_and_scope(lab):
    ns_r, _, netlink = lab
    v = vip("10.0.1.1/24", dev="eth1", brd="+", scope="link")
    assert netlink.add_vip(v, "eth0")
    line = next(text for text in ip_addr(ns_r).splitlines() if "10.0.1.1" in text)
    assert line.split()[1] == "eth1"
    assert "brd 10.0.1.255" in line and "scope link" in line
    host = vip("10.0.2.1", scope="host")  # no /LEN: /32
    assert netlink.add_vip(host, "eth0")
    assert "inet 10.0.2.1/32 scope host eth0" in ip_addr(ns_r)
    assert ("eth0", ipaddress.ip_interface("10.0.2.1/32"), None) in netlink.addresses()
    assert netlink.remove_vip(v, "eth0") and netlink.remove_vip(host, "eth0")


def test_add_vip_on_missing_interface_says_which(lab):
    _, _, netlink = lab
    with pytest.raises(LookupError, match="'nope0' does not exist"):
        netlink.add_vip(vip("10.0.0.9/24", dev="nope0"), "eth0")


def test_ipv6_vip_skips_dad_and_is_usable_at_once(lab):
    ns_r, _, netlink = lab
    v = vip("2001:db8::100/64")
    assert netlink.add_vip(v, "eth0")
    line = next(text for text in ip_addr(ns_r).splitlines() if "2001:db8::100" in text)
    assert "nodad" in line and "tentative" not in line
    assert netlink.has_address(ipaddress.ip_address("2001:db8::100"), "eth0")
    assert netlink.remove_vip(v, "eth0")
    assert "2001:db8::100" not in ip_addr(ns_r)


def test_primary_address_skips_vips(lab):
    ns_r, _, netlink = lab
    assert netlink.add_vip(vip("10.0.0.100/24"), "eth0")  # becomes a secondary of 10.0.0.2/24
    assert netlink.primary_address("eth0", 4) == ipaddress.ip_address("10.0.0.2")
    ip("-n", ns_r, "addr", "add", "10.9.0.2/24", "dev", "eth1")
    assert netlink.add_vip(vip("10.8.0.1/24"), "eth1")  # a VIP in its own subnet is a primary too
    assert netlink.primary_address("eth1", 4) == ipaddress.ip_address("10.9.0.2")
    assert netlink.primary_address("eth1", 4, exclude=[ipaddress.ip_address("10.9.0.2")]) is None
    link_local = netlink.primary_address("eth0", 6)
    assert link_local is not None and link_local.is_link_local
    assert str(link_local) in ip("-n", ns_r, "-6", "-o", "addr", "show", "dev", "eth0")
    assert netlink.primary_address("nope0", 4) is None


def test_usable_from_inside_a_running_event_loop(lab):
    _, _, netlink = lab

    async def main() -> bool:
        return netlink.link_is_up("eth0") and netlink.add_vip(vip("10.0.0.77/24"), "eth0")

    assert asyncio.run(main())
    assert netlink.has_address(ipaddress.ip_address("10.0.0.77"))
