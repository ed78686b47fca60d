"""vrrptui.net.rtnl (the plain rtnetlink socket) against the real kernel, compared with `ip -j` in a namespace."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import threading

import pytest
from net_helpers import ip, namespaces, opened_in, veth

from vrrptui.net.netlink import IFF_UP, Netlink
from vrrptui.net.rtnl import RtnlSocket

pytestmark = pytest.mark.netns

FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}


@pytest.fixture
def lab(netns_ok: None):
    """ns R: eth0 (veth to P) with IPv4 primaries, a secondary, a label, IPv6; eth1 down with a peer address."""
    with namespaces("rtnl-r", "rtnl-p") as (ns_r, ns_p):
        veth(ns_r, "eth0", ns_p, "peer0")
        veth(ns_r, "eth1", ns_p, "peer1")
        ip("-n", ns_r, "link", "set", "eth1", "down")
        for args in (("10.0.0.2/24", "dev", "eth0"), ("10.0.0.3/24", "dev", "eth0", "label", "eth0:sec"),
                     ("10.7.0.1/16", "dev", "eth0", "scope", "link"), ("2001:db8::2/64", "dev", "eth0", "nodad"),
                     ("10.1.0.1", "peer", "10.1.0.2/32", "dev", "eth1")):
            ip("-n", ns_r, "addr", "add", *args)
        with opened_in(ns_r, RtnlSocket) as rt:
            yield ns_r, rt


def ip_json(ns: str, *args: str) -> list[dict]:
    return json.loads(ip("-n", ns, "-j", *args))


def test_links_match_ip_link(lab):
    ns, rt = lab
    expected = [(e["ifindex"], e["ifname"], "UP" in e["flags"], e.get("address")) for e in ip_json(ns, "link", "show")]
    got = [(link.index, link.name, bool(link.flags & IFF_UP), link.mac) for link in rt.links()]
    assert got == expected
    assert {name for _, name, _, _ in got} == {"lo", "eth0", "eth1"}


def test_link_lookups_by_name_and_index(lab):
    ns, rt = lab
    (eth0,) = ip_json(ns, "link", "show", "eth0")
    link = rt.link_by_name("eth0")
    assert link is not None and (link.index, link.name, link.mac) == (eth0["ifindex"], "eth0", eth0["address"])
    assert rt.link_by_index(eth0["ifindex"]) == link
    assert rt.index("eth0") == eth0["ifindex"]
    assert rt.link_by_name("nope0") is None and rt.index("nope0") is None
    assert rt.index("eth0-but-too-long") is None and rt.index("") is None
    assert rt.link_by_index(999_999) is None


def expected_addresses(ns: str, *args: str) -> list[tuple]:
    """`ip -j addr`'s addresses in the kernel's dump order: by family, then interface, then as the kernel keeps them."""
    out = []
    for link in ip_json(ns, *args):
        for a in link["addr_info"]:
            label = a.get("label") if a["family"] == "inet" else None
            out.append((link["ifindex"], FAMILIES[a["family"]], ipaddress.ip_address(a["local"]), a["prefixlen"],
                        label, bool(a.get("secondary")), bool(a.get("nodad"))))
    return sorted(out, key=lambda row: (row[1], row[0]))  # stable: each interface's own order is kept


def as_rows(entries) -> list[tuple]:
    return [(e.index, e.family, e.local, e.prefixlen, e.label, bool(e.flags & 0x01), bool(e.flags & 0x02))
            for e in entries]


def test_addresses_match_ip_addr_in_kernel_order(lab):
    ns, rt = lab
    assert as_rows(rt.addresses()) == expected_addresses(ns, "addr", "show")
    eth0 = rt.index("eth0")
    assert as_rows(rt.addresses(eth0)) == expected_addresses(ns, "addr", "show", "dev", "eth0")
    assert as_rows(rt.addresses(eth0, socket.AF_INET6)) == expected_addresses(ns, "-6", "addr", "show", "dev", "eth0")
    rows = as_rows(rt.addresses(eth0, socket.AF_INET))
    assert rows == expected_addresses(ns, "-4", "addr", "show", "dev", "eth0")
    assert {str(r[2]) for r in rows if r[5]} == {"10.0.0.3"}  # the secondary of 10.0.0.2/24


def test_peer_address_reports_the_local_side(lab):
    _, rt = lab
    (entry,) = rt.addresses(rt.index("eth1"), socket.AF_INET)
    assert (str(entry.local), entry.prefixlen) == ("10.1.0.1", 32)


def test_scope_and_label(lab):
    _, rt = lab
    by_address = {str(e.local): e for e in rt.addresses()}
    assert by_address["10.7.0.1"].scope == 253 and by_address["10.0.0.2"].scope == 0
    assert by_address["10.0.0.3"].label == "eth0:sec" and by_address["10.0.0.2"].label == "eth0"


def test_a_dump_spanning_many_datagrams(lab):
    ns, rt = lab
    batch = "".join(f"addr add 10.20.{i // 250}.{i % 250 + 1}/32 dev eth1\n" for i in range(600))
    subprocess.run(["ip", "-n", ns, "-batch", "-"], input=batch, text=True, check=True)
    rows = as_rows(rt.addresses())
    assert len(rows) > 600 and rows == expected_addresses(ns, "addr", "show")
    assert len(rt.links()) == 3


def test_safe_from_several_threads(lab):
    _, rt = lab
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(50):
                assert rt.index("eth0") is not None and len(rt.addresses()) >= 4
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_netlink_opens_pyroute2_in_its_own_namespace_on_first_request(lab):
    """Made in R, first `request()` from a thread in another namespace: pyroute2 still sees R."""
    ns, _ = lab
    with opened_in(ns, Netlink) as netlink:
        assert netlink._worker is None  # no thread, no pyroute2, until a request needs it
        names = {link.get("IFLA_IFNAME") for link in netlink.request("get_links")}
        assert names == {"lo", "eth0", "eth1"}


def test_netlink_without_requests_never_imports_pyroute2(lab):
    """Lookups, primary addresses and VIPs (all a plain config needs) leave pyroute2 unimported."""
    ns, _ = lab
    code = (
        "import ipaddress, sys\n"
        "from vrrptui.config.model import VirtualAddress\n"
        "from vrrptui.net.netlink import Netlink\n"
        "with Netlink() as nl:\n"
        "    vip = VirtualAddress(ipaddress.ip_interface('10.0.0.100/24'))\n"
        "    assert nl.link_is_up('eth0') and nl.link_mac('eth0') and 'eth0' in nl.link_names()\n"
        "    assert nl.add_vip(vip, 'eth0') and nl.has_address(vip.address, 'eth0')\n"
        "    assert str(nl.primary_address('eth0', 4)) in ('10.0.0.2', '10.7.0.1') and nl.interface_addresses('eth0')\n"
        "    assert nl.remove_vip(vip, 'eth0')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyroute2', 'psutil')))\n"
    )
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
