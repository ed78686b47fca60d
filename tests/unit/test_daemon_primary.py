"""choose_primary: the runtime's source address from one interface dump (RFC 5798 5.1.1.2 / 5.1.2.2)."""

from __future__ import annotations

from ipaddress import ip_address

from vrrptui.net.netlink import IFA_F_SECONDARY, IFA_F_TENTATIVE, InterfaceAddress, choose_primary


def entry(address: str, flags: int = 0) -> InterfaceAddress:
    return InterfaceAddress(ip_address(address), flags)


DUMP = [
    entry("10.10.1.1"),  # a /32 VIP: primary in the kernel's sense
    entry("192.168.1.11"),
    entry("192.168.1.50", IFA_F_SECONDARY),
    entry("fe80::1", IFA_F_TENTATIVE),
    entry("2001:db8::11"),
    entry("fe80::11"),
]


def test_ipv4_first_primary_that_is_not_excluded() -> None:
    assert choose_primary(DUMP, 4) == ip_address("10.10.1.1")
    assert choose_primary(DUMP, 4, exclude=[ip_address("10.10.1.1")]) == ip_address("192.168.1.11")


def test_ipv4_secondary_only_when_no_primary_is_left() -> None:
    vips = [ip_address("10.10.1.1"), ip_address("192.168.1.11")]
    assert choose_primary(DUMP, 4, exclude=vips) == ip_address("192.168.1.50")
    assert choose_primary(DUMP, 4, exclude=[*vips, ip_address("192.168.1.50")]) is None


def test_ipv6_link_local_that_finished_dad_first() -> None:
    assert choose_primary(DUMP, 6) == ip_address("fe80::11")
    assert choose_primary(DUMP, 6, exclude=[ip_address("fe80::11")]) == ip_address("fe80::1")
    assert choose_primary([entry("2001:db8::11")], 6) is None
