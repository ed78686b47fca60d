"""vrrp_instance values at their bounds: huge numbers, names the kernel refuses, VMAC names two instances
claim, and thousands of blocks or diagnostics (each costing its own, not all the earlier ones)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from vrrptui.config.model import ConfigError
from vrrptui.config.parser import parse_config

IFACES = {"eth0", "eth1"}


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    return str(path)


def errors(path: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(path, existing_interfaces=IFACES)
    return [str(d) for d in exc.value.diagnostics if d.severity == "error"]


def instance(body: str, name: str = "VI_1", interface: str = "eth0", vrid: int | str = 51) -> str:
    """Line 1 is `vrrp_instance`, lines 2-3 interface and VRID; `body` starts at line 4."""
    return f"vrrp_instance {name} {{\n  interface {interface}\n  virtual_router_id {vrid}\n{textwrap.dedent(body)}}}\n"


def only(items: list[str]) -> str:
    assert len(items) == 1, items
    return items[0]


# --- numbers of thousands of digits ----------------------------------------------

def test_vrid_of_thousands_of_digits_is_out_of_range(tmp_path):
    """Python refuses to convert more than 4300 digits: this was a traceback."""
    path = write(tmp_path, instance("  virtual_ipaddress { 10.0.0.1 }\n", vrid="1" * 4301))
    assert only(errors(path)).startswith(f"{path}:3: error: virtual_router_id 1111111111...(4301 digits) is out of "
                                         f"range: use 1-255")


def test_vrid_with_leading_zeros_is_still_read(tmp_path):
    path = write(tmp_path, instance("  virtual_ipaddress { 10.0.0.1 }\n", vrid="0" * 40 + "51"))
    assert parse_config(path, existing_interfaces=IFACES).instances[0].vrid == 51


def test_vip_scope_of_thousands_of_digits_is_not_known(tmp_path):
    path = write(tmp_path, instance(f"  virtual_ipaddress {{\n    10.0.0.1 scope {'1' * 4301}\n  }}\n"))
    assert only(errors(path)).startswith(f"{path}:5: error: scope '1111111111...(4301 digits)' is not known: use one "
                                         f"of global, host, link, nowhere, site or a number 0-255")


def test_vip_scope_with_leading_zeros_is_still_a_number(tmp_path):
    path = write(tmp_path, instance(f"  virtual_ipaddress {{\n    10.0.0.1 scope {'0' * 40}200\n  }}\n"))
    assert parse_config(path, existing_interfaces=IFACES).instances[0].virtual_ipaddresses[0].scope.endswith("200")


# --- an empty dev on a VIP ---------------------------------------------------------

def test_empty_vip_dev_is_an_error(tmp_path):
    """It used to fall back silently to the instance's interface; keepalived finds no such interface."""
    path = write(tmp_path, instance('  virtual_ipaddress {\n    10.0.0.9/24\n    10.0.0.1/24 dev ""\n  }\n'))
    assert only(errors(path)).startswith(f"{path}:6: error: dev '' names no interface")


# --- use_vmac names ------------------------------------------------------------

@pytest.mark.parametrize("written, refused", [
    ('"a b"', "(' ')"),
    ("a/b", "('/')"),
    ("x:y", "(':')"),
    ('"a\\tb"', "('\\t')"),
    ('"a\\nb"', "('\\n')"),
    ('"a/b:c d"', "('/' ':' ' ')"),
    ('"v\u00e0"', "('\u00e0': the kernel takes byte 0xa0 of their UTF-8 for a space)"),
])
def test_use_vmac_name_with_characters_the_kernel_refuses(tmp_path, written, refused):
    path = write(tmp_path, instance(f"  use_vmac {written}\n  virtual_ipaddress {{ 10.0.0.1 }}\n"))
    assert only(errors(path)).startswith(f"{path}:4: error: use_vmac name ")
    assert f"has characters the kernel does not allow in an interface name {refused}: no '/', ':'" in errors(path)[0]


@pytest.mark.parametrize("written, name", [('"."', "."), ("..", ".."), ('""', "")])
def test_use_vmac_name_that_is_no_name(tmp_path, written, name):
    path = write(tmp_path, instance(f"  use_vmac {written}\n  virtual_ipaddress {{ 10.0.0.1 }}\n"))
    assert only(errors(path)).startswith(f"{path}:4: error: use_vmac name '{name}' cannot be an interface name")


def test_use_vmac_names_the_kernel_takes(tmp_path):
    path = write(tmp_path, instance('  use_vmac "vrrp-51_a.b\u2003"\n  virtual_ipaddress { 10.0.0.1 }\n'))
    assert parse_config(path, existing_interfaces=IFACES).instances[0].vmac_interface == "vrrp-51_a.b\u2003"


def test_two_instances_with_one_vmac_name(tmp_path):
    """keepalived: "(D) VRRP instance C is already using shared0 - ignoring name"; D gets a name of its own."""
    path = write(tmp_path, instance("  use_vmac shared0\n  virtual_ipaddress { 10.0.0.1 }\n", name="C")
                 + instance("  use_vmac shared0\n  virtual_ipaddress { 10.1.0.1 }\n", name="D", interface="eth1",
                            vrid=52))
    config = parse_config(path, existing_interfaces=IFACES)
    assert [(i.name, i.vmac_interface) for i in config.instances] == [("C", "shared0"), ("D", "vrrp1.52")]
    assert [str(w) for w in config.warnings] == [
        f"{path}:10: warning: VMAC interface shared0 is already used by vrrp_instance C ({path}:1): keepalived "
        f"ignores the name, and so does vrrptui; give vrrp_instance D a VMAC name of its own with `use_vmac NAME`"]


def test_default_vmac_names_are_keepalived_s_and_unique(tmp_path):
    """As keepalived 2.2.7 names them (seen in a namespace): vrrp.51 for IPv4, vrrp6.51 for IPv6 (a pair of
    instances real configs have, one VRID on one interface), vrrp1.51 for a second IPv4 one on another
    interface. Sharing vrrp.51, the IPv6 instance would send with 00:00:5e:00:01:33, not ...:02:33."""
    path = write(tmp_path, instance("  use_vmac\n  virtual_ipaddress { 10.0.0.1 }\n", name="A")
                 + instance("  use_vmac\n  virtual_ipaddress { 2001:db8::1 }\n", name="B")
                 + instance("  use_vmac\n  virtual_ipaddress { 10.1.0.1 }\n", name="C", interface="eth1"))
    config = parse_config(path, existing_interfaces=IFACES)
    assert [(i.name, i.vmac_interface, i.vmac_address) for i in config.instances] == [
        ("A", "vrrp.51", "00:00:5e:00:01:33"), ("B", "vrrp6.51", "00:00:5e:00:02:33"),
        ("C", "vrrp1.51", "00:00:5e:00:01:33")]
    assert config.warnings == ()


def test_own_vmac_names_for_one_vrid_are_fine(tmp_path):
    path = write(tmp_path, instance("  use_vmac\n  virtual_ipaddress { 10.0.0.1 }\n", name="A")
                 + instance("  use_vmac vrrp6.51\n  virtual_ipaddress { 2001:db8::1 }\n", name="B")
                 + instance("  virtual_ipaddress { 10.1.0.1 }\n", name="C", interface="eth1"))
    config = parse_config(path, existing_interfaces=IFACES)
    assert [(i.name, i.use_vmac and i.vmac_interface) for i in config.instances] == [
        ("A", "vrrp.51"), ("B", "vrrp6.51"), ("C", False)]


# --- thousands of blocks and diagnostics ------------------------------------------

def test_many_unicast_peer_blocks(tmp_path):
    """Each block was checked against a set rebuilt from all the earlier peers."""
    blocks = "".join(f"  unicast_peer {{ 10.0.{n // 256}.{n % 256} }}\n" for n in range(5000))
    path = write(tmp_path, instance(f"  virtual_ipaddress {{ 10.255.0.1 }}\n{blocks}  unicast_peer {{\n"
                                    f"    10.0.0.7 min_ttl 1\n  }}\n"))
    config = parse_config(path, existing_interfaces=IFACES)
    peers = config.instances[0].unicast_peers
    assert len(peers) == 5000 and str(peers[0].address) == "10.0.0.0" and str(peers[-1].address) == "10.0.19.135"
    assert [str(w) for w in config.warnings] == [f"{path}:5006: warning: unicast peer 10.0.0.7 is listed twice: "
                                                 f"the second is ignored"]


def test_many_instances_with_many_warnings(tmp_path):
    """The errors were counted over all diagnostics so far, twice per instance. Each instance is still judged by
    its own: BAD is refused at the end of its block, so AGAIN's VRID is not reported as taken; the instances after
    it are built, so LAST's is."""
    bad = instance("  version 3\n  advert_int 41\n  virtual_ipaddress { 10.0.0.1 }\n", name="BAD", interface="bond0")
    again = instance("  virtual_ipaddress { 10.0.0.2 }\n", name="AGAIN", interface="bond0")
    bogus = "  bogus_keyword\n" * 10
    many = "".join(instance(f"  virtual_ipaddress {{ 10.255.{n // 256}.{n % 256} }}\n{bogus}", name=f"VI_{n}",
                            vrid=1 + n % 255, interface=f"eth{n // 255}") for n in range(3000))
    last = instance("  virtual_ipaddress { 10.0.0.3 }\n", name="LAST", vrid=195, interface="eth11")
    path = write(tmp_path, bad + again + many + last)
    with pytest.raises(ConfigError) as exc:
        parse_config(path, existing_interfaces={"bond0", *(f"eth{n}" for n in range(12))})
    diagnostics = exc.value.diagnostics
    assert sum(d.severity == "warning" for d in diagnostics) == 30_000
    first, second = (str(d) for d in diagnostics if d.severity == "error")
    assert first.startswith(f"{path}:5: error: advert_int 41 is out of range for VRRPv3")
    line = (bad + again + many).count("\n") + 3
    assert second.startswith(f"{path}:{line}: error: VRID 195 is already used by vrrp_instance VI_2999")
