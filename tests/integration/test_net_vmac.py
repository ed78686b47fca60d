"""use_vmac on the real kernel: the macvlan answers ARP for the VIP with the virtual MAC."""

from __future__ import annotations

import ipaddress

import pytest
from net_helpers import Tcpdump, in_netns, ip, link_mac, namespaces, nsexec, opened_in, veth, wait_for

from vrrptui.config.model import VirtualAddress
from vrrptui.net.netlink import Netlink
from vrrptui.net.vmac import create_vmac, delete_vmac, link_local_from_mac, read_sysctl, vmac_address

pytestmark = pytest.mark.netns

VMAC = "00:00:5e:00:01:33"  # VRID 51
VIP = VirtualAddress(ipaddress.ip_interface("10.0.0.100/24"), dev="vrrp.51")


@pytest.fixture
def lab(netns_ok: None, tcpdump_ok: str):
    """ns R (router, eth0 10.0.0.1/24) <-> ns P (client, peer0 10.0.0.2/24)."""
    with namespaces("vmac-r", "vmac-p") as (ns_r, ns_p):
        veth(ns_r, "eth0", ns_p, "peer0")
        ip("-n", ns_r, "addr", "add", "10.0.0.1/24", "dev", "eth0")
        ip("-n", ns_p, "addr", "add", "10.0.0.2/24", "dev", "peer0")
        with opened_in(ns_r, Netlink) as netlink:
            yield ns_r, ns_p, netlink


def neigh_mac(ns: str, address: str) -> str:
    line = ip("-n", ns, "neigh", "show", address, "dev", "peer0")
    return line.split("lladdr ", 1)[1].split()[0] if "lladdr " in line else ""


def test_vmac_address_follows_rfc_5798():
    assert vmac_address(51) == VMAC
    assert vmac_address(255, 6) == "00:00:5e:00:02:ff"


def test_vmac_answers_arp_for_the_vip(lab):
    ns_r, ns_p, netlink = lab
    with in_netns(ns_r):
        assert create_vmac("eth0", "vrrp.51", VMAC, netlink=netlink) is True
        settings = {
            key: read_sysctl(4, "vrrp.51", key)
            for key in ("arp_ignore", "accept_local", "rp_filter", "promote_secondaries")
        }
        base = (read_sysctl(4, "eth0", "arp_ignore"), read_sysctl(4, "eth0", "arp_filter"))
        assert read_sysctl(6, "vrrp.51", "disable_ipv6") == "1"
    assert settings == {"arp_ignore": "1", "accept_local": "1", "rp_filter": "0", "promote_secondaries": "1"}
    assert base == ("1", "1")
    details = ip("-n", ns_r, "-d", "link", "show", "vrrp.51")
    assert f"link/ether {VMAC}" in details and "macvlan mode private" in details and "vrrp.51@eth0" in details
    assert netlink.link_is_up("vrrp.51")

    # R already knows the client (as a router does), else its own ARP request for the client,
    # sourced from the VIP out of eth0, would re-point the client's entry to eth0's MAC
    nsexec(ns_r, "ping", "-c", "1", "-W", "2", "10.0.0.2")
    assert netlink.add_vip(VIP, "eth0")
    with Tcpdump(ns_p, "peer0", "arp") as witness:
        nsexec(ns_p, "ping", "-c", "1", "-W", "2", "10.0.0.100")
        text = witness.stop()
    assert neigh_mac(ns_p, "10.0.0.100") == VMAC
    assert f"{VMAC} > {link_mac(ns_p, 'peer0')}, ethertype ARP" in text
    assert f"Reply 10.0.0.100 is-at {VMAC}" in text
    assert f"is-at {link_mac(ns_r, 'eth0')}" not in text  # the base interface kept quiet
    nsexec(ns_p, "ping", "-c", "1", "-W", "2", "10.0.0.1")  # the base still answers for its own address
    assert neigh_mac(ns_p, "10.0.0.1") == link_mac(ns_r, "eth0")

    with in_netns(ns_r):
        assert create_vmac("eth0", "vrrp.51", VMAC, netlink=netlink) is False  # adopted, as after a crash
        assert delete_vmac("vrrp.51", netlink=netlink) is True
        assert (read_sysctl(4, "eth0", "arp_ignore"), read_sysctl(4, "eth0", "arp_filter")) == ("0", "0")
        assert delete_vmac("vrrp.51", netlink=netlink) is False
    assert netlink.link_index("vrrp.51") is None


def test_vmac_with_a_wrong_mac_is_replaced_and_real_interfaces_are_left_alone(lab):
    ns_r, _, netlink = lab
    ip("-n", ns_r, "link", "add", "name", "vrrp.51", "link", "eth0", "type", "macvlan", "mode", "bridge")
    with in_netns(ns_r):
        assert create_vmac("eth0", "vrrp.51", VMAC) is True  # own Netlink, closed after
        assert netlink.link_mac("vrrp.51") == VMAC
        with pytest.raises(OSError, match="not a macvlan"):
            create_vmac("vrrp.51", "eth0", VMAC, netlink=netlink)
        with pytest.raises(OSError, match="not a macvlan"):
            delete_vmac("eth0", netlink=netlink)
        assert delete_vmac("vrrp.51")
    assert netlink.link_index("eth0") is not None


def test_ipv6_vmac_has_no_mac_derived_link_local(lab):
    ns_r, _, netlink = lab
    with in_netns(ns_r):
        assert create_vmac("eth0", "vrrp6.51", "00:00:5e:00:02:33", netlink=netlink)
    base_ll = netlink.primary_address("eth0", 6)
    addresses = ip("-n", ns_r, "-6", "-o", "addr", "show", "dev", "vrrp6.51")
    assert f"inet6 {base_ll}/64" in addresses
    assert "fe80::200:5eff:fe00:233" not in addresses
    wait_for(lambda: netlink.link_is_up("vrrp6.51"))


def test_ipv6_vmac_on_a_base_without_link_local_gets_the_one_its_mac_gives(lab):
    """A base created again is still down when its VMAC is remade, so it has no link-local yet: the
    VMAC gets the EUI-64 link-local of the base's MAC (keepalived's choice), not none at all."""
    ns_r, _, netlink = lab
    ip("-n", ns_r, "link", "add", "base1", "type", "veth", "peer", "name", "base1p")  # left down: no link-local
    assert netlink.primary_address("base1", 6) is None
    with in_netns(ns_r):
        assert create_vmac("base1", "vrrp6.52", "00:00:5e:00:02:34", netlink=netlink, again=True)
    expected = link_local_from_mac(link_mac(ns_r, "base1"))
    assert expected.is_link_local
    assert f"inet6 {expected}/64" in ip("-n", ns_r, "-6", "-o", "addr", "show", "dev", "vrrp6.52")
