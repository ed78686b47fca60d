"""Which socket reads which VRIDs when instances listen on VMACs (daemon/sockpool.heard_on_vmacs).

A peer's multicast advert sent from a MAC of its own reaches the base and every VMAC on it (the kernel
gives each macvlan a copy): each advert must be read by one socket, or it is counted (and acted on)
once per copy. The filters are checked here; the copies themselves in tests/integration/test_vmac_pair.py.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from vrrptui.config.model import UnicastPeer, VirtualAddress, VrrpInstance
from vrrptui.daemon.sockpool import heard_on_vmacs, listen_interface, receive_keys


def inst(name: str, vrid: int, vmac: bool, family: int = 4, **more) -> VrrpInstance:
    vip = "192.168.1.100/24" if family == 4 else "fd00::1/64"
    base = VrrpInstance(name=name, interface="eth0", vrid=vrid, family=family, use_vmac=vmac,
                        virtual_ipaddresses=(VirtualAddress(ipaddress.ip_interface(vip)),))
    return replace(base, **more)


def test_each_vrid_is_read_by_one_socket_with_a_base_socket():
    a, b, plain = inst("A", 51, True), inst("B", 52, True), inst("P", 60, False)
    bases, filters = heard_on_vmacs([a, b, plain])
    assert bases == {"vrrp.51": "eth0", "vrrp.52": "eth0"}
    assert filters == {("eth0", 4): (False, frozenset({51, 52})), ("vrrp.51", 4): (True, frozenset({51})),
                       ("vrrp.52", 4): (True, frozenset({52}))}


def test_without_a_base_socket_the_first_vmac_reads_the_vrids_of_no_vmac():
    """A VRID configured nowhere here is still read (and counted as such) once."""
    a, b = inst("A", 51, True), inst("B", 52, True)
    assert {key[0] for key in receive_keys([a, b])} == {"vrrp.51", "vrrp.52"}
    _, filters = heard_on_vmacs([a, b])
    assert filters == {("vrrp.51", 4): (False, frozenset({52})), ("vrrp.52", 4): (True, frozenset({52}))}


def test_families_are_apart_and_unicast_or_plain_instances_read_on_the_base():
    v4, v6 = inst("A", 51, True), inst("B", 51, True, family=6)
    uni = inst("U", 53, True, unicast_peers=(UnicastPeer(ipaddress.ip_address("192.168.1.12")),))
    assert [listen_interface(i) for i in (v4, v6, uni)] == ["vrrp.51", "vrrp6.51", "eth0"]
    bases, filters = heard_on_vmacs([v4, v6, uni])
    assert bases == {"vrrp.51": "eth0", "vrrp6.51": "eth0"}
    assert filters == {("eth0", 4): (False, frozenset({51})), ("vrrp.51", 4): (True, frozenset({51})),
                       ("vrrp6.51", 6): (False, frozenset())}
    assert heard_on_vmacs([inst("P", 60, False)]) == ({}, {})
