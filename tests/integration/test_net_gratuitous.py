"""Gratuitous ARP and unsolicited NA on the real kernel: tcpdump reads them, the peer's neighbour table obeys."""

from __future__ import annotations

import ipaddress

import pytest
from net_helpers import Tcpdump, in_netns, ip, link_mac, namespaces, veth, wait_for

from vrrptui.net.gratuitous import send_garp, send_unsolicited_na

pytestmark = pytest.mark.netns

VIP4 = ipaddress.IPv4Address("10.0.0.100")
VIP6 = ipaddress.IPv6Address("2001:db8::100")
OLD_MAC = "02:00:00:00:00:99"  # where the peer thinks the VIP lives (the old master)
VMAC = "00:00:5e:00:01:33"


@pytest.fixture
def pair(netns_ok: None, tcpdump_ok: str):
    """ns S (new master, eth0 holds the VIPs) <-> ns P (peer0), with a stale neighbour entry in P."""
    with namespaces("garp-s", "garp-p") as (ns_s, ns_p):
        veth(ns_s, "eth0", ns_p, "peer0")
        ip("-n", ns_s, "addr", "add", "10.0.0.1/24", "dev", "eth0")
        ip("-n", ns_s, "addr", "add", f"{VIP4}/24", "dev", "eth0")
        ip("-n", ns_s, "addr", "add", f"{VIP6}/64", "dev", "eth0", "nodad")
        ip("-n", ns_p, "addr", "add", "10.0.0.2/24", "dev", "peer0")
        ip("-n", ns_p, "addr", "add", "2001:db8::2/64", "dev", "peer0", "nodad")
        for address in (VIP4, VIP6):
            ip("-n", ns_p, "neigh", "replace", str(address), "lladdr", OLD_MAC, "dev", "peer0", "nud", "stale")
        yield ns_s, ns_p


def peer_mac_for(ns: str, address) -> str:
    line = ip("-n", ns, "neigh", "show", str(address), "dev", "peer0")
    return line.split("lladdr ", 1)[1].split()[0] if "lladdr " in line else ""


def test_gratuitous_arp_has_keepalived_form_and_moves_the_peer(pair):
    ns_s, ns_p = pair
    own_mac = link_mac(ns_s, "eth0")
    with Tcpdump(ns_p, "peer0", "arp") as witness:
        with in_netns(ns_s):
            send_garp("eth0", VIP4)
        wait_for(lambda: peer_mac_for(ns_p, VIP4) == own_mac)
        text = witness.stop()
    assert f"{own_mac} > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42" in text
    assert f"Request who-has {VIP4} (ff:ff:ff:ff:ff:ff) tell {VIP4}, length 28" in text


def test_gratuitous_arp_from_a_given_mac(pair):
    ns_s, ns_p = pair
    with Tcpdump(ns_p, "peer0", "arp") as witness:
        with in_netns(ns_s):
            send_garp("eth0", VIP4, mac=VMAC)
        wait_for(lambda: peer_mac_for(ns_p, VIP4) == VMAC)
        text = witness.stop()
    assert f"{VMAC} > ff:ff:ff:ff:ff:ff, ethertype ARP" in text


def test_unsolicited_na_has_override_tlla_and_good_checksum_and_moves_the_peer(pair):
    ns_s, ns_p = pair
    own_mac = link_mac(ns_s, "eth0")
    with Tcpdump(ns_p, "peer0", "icmp6 and ip6[40] == 136") as witness:
        with in_netns(ns_s):
            send_unsolicited_na("eth0", VIP6)
        wait_for(lambda: peer_mac_for(ns_p, VIP6) == own_mac)
        text = witness.stop()
    assert f"{own_mac} > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86" in text
    assert "hlim 255, next-header ICMPv6 (58) payload length: 32" in text
    assert f"{VIP6} > ff02::1: [icmp6 sum ok] ICMP6, neighbor advertisement, length 32, tgt is {VIP6}" in text
    assert "Flags [override]" in text
    assert f"destination link-address option (2), length 8 (1): {own_mac}" in text


def test_unsolicited_na_router_flag_follows_forwarding(pair):
    ns_s, ns_p = pair
    ip("netns", "exec", ns_s, "sysctl", "-qw", "net.ipv6.conf.eth0.forwarding=1")
    with Tcpdump(ns_p, "peer0", "icmp6 and ip6[40] == 136") as witness:
        with in_netns(ns_s):
            send_unsolicited_na("eth0", VIP6, mac=VMAC)
        wait_for(lambda: peer_mac_for(ns_p, VIP6) == VMAC)
        text = witness.stop()
    assert "Flags [router, override]" in text
    assert f"destination link-address option (2), length 8 (1): {VMAC}" in text
