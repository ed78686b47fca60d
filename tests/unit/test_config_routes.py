"""virtual_routes / virtual_rules / static_* parsed from `ip route` / `ip rule` syntax."""

from __future__ import annotations

import ipaddress

import pytest

from vrrptui.config.model import PolicyRule, StaticRoute
from vrrptui.config.parser import parse_config

CONF = """\
global_defs {
  default_interface eth1
}
static_ipaddress {
  192.168.51.1/24
}
static_routes {
  10.50.0.0/16 via 192.168.50.254
  blackhole 10.66.0.0/16 table 100
  192.168.100.0/24 table 6909 nexthop via 192.168.101.1 dev wlan0
}
static_rules {
  from 10.0.0.0/8 goto 40
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 192.168.50.100/24 }
  virtual_routes {
    src 192.168.50.100 to 10.60.0.0/16 via 192.168.50.254 dev eth0 metric 5 protocol bird scope global
    default via 192.168.50.1 table main onlink no_track
    2001:db8:1::/48 via fe80::1 dev eth0 inet6
  }
  virtual_rules {
    from 192.168.50.100 table 200 priority 200
    not to 2001:db8::/32 fwmark 0x10/0xff iif eth0 lookup local preference 10
  }
}
"""


def test_routes_and_rules_with_the_options_vrrptui_acts_on(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    config = parse_config(str(path), check_interfaces=False)
    inst = config.instances[0]
    net, addr = ipaddress.ip_network, ipaddress.ip_address
    assert [(r.destination, r.gateway, r.dev, r.source, r.metric, r.protocol, r.scope, r.table, r.onlink)
            for r in inst.virtual_routes] == [
        (net("10.60.0.0/16"), addr("192.168.50.254"), "eth0", addr("192.168.50.100"), 5, 12, 0, None, False),
        (net("0.0.0.0/0"), addr("192.168.50.1"), None, None, None, None, None, 254, True),
        (net("2001:db8:1::/48"), addr("fe80::1"), "eth0", None, None, None, None, None, False)]
    assert inst.virtual_rules == (
        PolicyRule(family=4, table=200, source=net("192.168.50.100/32"), priority=200,
                   text="from 192.168.50.100 table 200 priority 200", file=str(path), line=25),
        PolicyRule(family=6, table=255, destination=net("2001:db8::/32"), priority=10, iif="eth0", fwmark=16,
                   fwmask=255, invert=True, text="not to 2001:db8::/32 fwmark 0x10/0xff iif eth0 lookup local "
                   "preference 10", file=str(path), line=26))
    assert [str(a) for a in config.static_addresses] == ["192.168.51.1/24"]
    assert config.global_defs.default_interface == "eth1"
    assert config.static_routes == (
        StaticRoute(net("10.50.0.0/16"), addr("192.168.50.254"), text="10.50.0.0/16 via 192.168.50.254",
                    file=str(path), line=8),
        StaticRoute(net("10.66.0.0/16"), table=100, kind="blackhole", text="blackhole 10.66.0.0/16 table 100",
                    file=str(path), line=9))
    assert config.static_rules == ()
    # What vrrptui cannot install as written is reported, never installed differently.
    assert [(d.line, d.message.split(":")[0]) for d in config.warnings] == [
        (10, "route '192.168.100.0/24 table 6909 nexthop via 192.168.101.1 dev wlan0'"),
        (13, "rule 'from 10.0.0.0/8 goto 40'")]
    assert all("vrrptui does not install this" in d.message for d in config.warnings)


def test_via_with_a_family_as_ip_route_allows(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text("static_routes {\n  default via inet6 2001:db8::1 dev eth1\n}\n")
    (route,) = parse_config(str(path), check_interfaces=False).static_routes
    assert (str(route.destination), str(route.gateway), route.dev) == ("::/0", "2001:db8::1", "eth1")


@pytest.mark.parametrize("entry, message", [
    ("10.60.0.0/16 dev eth0 metric 4294967296", "metric 4294967296 is out of range 0-4294967295"),
    ("10.60.0.0/16 dev eth0 protocol 300", "protocol 300 is out of range 0-255"),
    ("10.60.0.0/16 dev eth0 table 8589934592", "table 8589934592 is out of range 0-4294967295"),
    ("10.60.0.0/16 dev averyveryverylongname0",
     "dev 'averyveryverylongname0' is not a Linux interface name (1-15 bytes, no '/')"),
])
def test_a_route_value_the_kernel_cannot_carry_is_not_installed(tmp_path, entry, message):
    """pyroute2 raised struct.error for these when the route went in (after the VIPs): a stopped daemon."""
    path = tmp_path / "k.conf"
    path.write_text("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress { 10.0.0.1 }\n"
                    f"  virtual_routes {{\n    {entry}\n  }}\n}}\n")
    config = parse_config(str(path), existing_interfaces={"eth0"})
    assert config.instances[0].virtual_routes == ()
    assert [str(w) for w in config.warnings] == [
        f"{path}:6: warning: route '{entry}': {message}: neither vrrptui nor keepalived installs this route; "
        f"correct the value"]


@pytest.mark.parametrize("entry, message", [
    ("from 10.0.0.0/8 table 100 fwmark 0x100000000", "fwmark 0x100000000 is out of range 0-4294967295"),
    ("from 10.0.0.0/8 table 100 priority 4294967296", "priority 4294967296 is out of range 0-4294967295"),
    ("from 10.0.0.0/8 table 100 iif " + "x" * 16, f"iif '{'x' * 16}' is not a Linux interface name"),
])
def test_a_rule_value_the_kernel_cannot_carry_is_not_installed(tmp_path, entry, message):
    path = tmp_path / "k.conf"
    path.write_text(f"static_rules {{\n  {entry}\n}}\n")
    config = parse_config(str(path), existing_interfaces={"eth0"})
    assert config.static_rules == ()
    (warning,) = [str(w) for w in config.warnings]
    assert warning.startswith(f"{path}:2: warning: rule '{entry}': {message}")
