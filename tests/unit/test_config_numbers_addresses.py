"""Numbers, addresses and names read as keepalived reads them: what its strtol / inet_pton refuse is refused here.

Python's int() and float() take `2_5`, `٥٠` (Arabic-Indic digits), `1e0` and `nan`, and ipaddress takes an
IPv6 zone (`fe80::2%eth0`); keepalived refuses each. Taken, a pair with one keepalived router would run
another priority, and a zoned unicast peer matches no received source (both routers would be master).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from vrrptui.config.model import ConfigError
from vrrptui.config.parser import parse_config
from vrrptui.config.values import c_number, decimal_number, whole_number


def parse(tmp_path: Path, text: str):
    path = tmp_path / "keepalived.conf"
    path.write_text(textwrap.dedent(text))
    return parse_config(str(path), existing_interfaces={"eth0", "eth1"})


def instance(body: str) -> str:
    return f"vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n{body}\n}}\n"


@pytest.mark.parametrize("text", ["2_5", "٥٠", "1e2", "0x10", "1.", " 1", "", "+", "1" * 31])
def test_a_whole_number_is_ascii_digits_with_a_sign(text):
    with pytest.raises(ValueError):
        whole_number(text)


def test_whole_and_decimal_numbers_keepalived_reads():
    assert [whole_number(t) for t in ("100", "+1", "-20", "007")] == [100, 1, -20, 7]
    assert [decimal_number(t) for t in ("1", "0.5", ".5", "1.", "+2")] == [1.0, 0.5, 0.5, 1.0, 2.0]
    for text in ("1e0", "nan", "inf", "1_0", "١", "0x1", ".", ""):
        with pytest.raises(ValueError):
            decimal_number(text)
    assert [c_number(t) for t in ("16", "0x10", "0X1f", "010", "0")] == [16, 16, 31, 8, 0]
    for text in ("0x", "1_0", "0b1", "٥"):
        with pytest.raises(ValueError):
            c_number(text)


@pytest.mark.parametrize("line, message", [
    ("priority 2_5", "priority '2_5' is not a whole number"),
    ("priority ٥٠", "priority '٥٠' is not a whole number"),
    ("advert_int 1e0", "advert_int '1e0' is not a number of seconds"),
    ("advert_int 1_0", "advert_int '1_0' is not a number of seconds"),
])
def test_a_number_keepalived_refuses_is_an_error_at_its_line(tmp_path, line, message):
    with pytest.raises(ConfigError) as exc:
        parse(tmp_path, instance(f"  {line}\n  virtual_ipaddress {{ 10.0.0.1 }}"))
    (d,) = exc.value.diagnostics
    assert (d.line, d.severity) == (4, "error") and d.message.startswith(message), str(d)


def test_an_address_with_a_zone_is_skipped_with_a_warning(tmp_path):
    config = parse(tmp_path, instance(
        "  unicast_src_ip fe80::1%eth0\n  unicast_peer {\n    fe80::2%eth0\n    fe80::3\n  }\n"
        "  virtual_ipaddress { fd00::1/64 }"))
    (vi,) = config.instances
    assert vi.unicast_src_ip is None and [str(p.address) for p in vi.unicast_peers] == ["fe80::3"]
    assert [(w.line, w.message.split(",")[0]) for w in config.warnings] == [
        (4, "unicast_src_ip 'fe80::1%eth0' has a zone (`%eth0`)"),
        (6, "unicast peer 'fe80::2%eth0' has a zone (`%eth0`)")]


def test_a_vip_with_a_zone_is_skipped_with_a_warning(tmp_path):
    config = parse(tmp_path, instance("  virtual_ipaddress {\n    fe80::10%eth0/64\n    fe80::11/64\n  }"))
    assert [str(vip) for vip in config.instances[0].virtual_ipaddresses] == ["fe80::11/64"]
    assert [(w.line, w.message.split("':")[0]) for w in config.warnings] == [
        (5, "invalid virtual address 'fe80::10%eth0/64")]


def test_a_route_or_rule_of_two_families_is_not_installed(tmp_path):
    config = parse(tmp_path, instance(
        "  virtual_ipaddress { 10.0.0.1/24 }\n  virtual_routes {\n    10.9.0.0/16 via 2001:db8::1 dev eth0\n"
        "    10.8.0.0/16 src 2001:db8::5\n    10.7.0.0/16 via 10.0.0.254 inet6\n    fe80::/64 via fe80::1%eth0\n"
        "    10.6.0.0/16 via 10.0.0.254\n  }\n  virtual_rules {\n    from 10.0.0.0/8 to 2001:db8::/32 table 100\n"
        "    from 10.0.0.0/8 table 100\n  }"))
    (vi,) = config.instances
    assert [r.text for r in vi.virtual_routes] == ["10.6.0.0/16 via 10.0.0.254"]
    assert [r.text for r in vi.virtual_rules] == ["from 10.0.0.0/8 table 100"]
    assert [w.line for w in config.warnings] == [6, 7, 8, 9, 13]
    assert all("mixes IPv4 and IPv6" in w.message for w in config.warnings if w.line != 9)
    assert "'fe80::1%eth0' has a zone" in next(w.message for w in config.warnings if w.line == 9)


@pytest.mark.parametrize("section", [
    'vrrp_instance "VI\\n1" {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress { 10.0.0.1 }\n}',
    'vrrp_script "chk\\r" {\n  script "/bin/true"\n}',
    'vrrp_sync_group "G\\x1b[2J" {\n  group {\n    VI_1\n  }\n}',
])
def test_a_name_an_escape_makes_a_control_character_is_an_error(tmp_path, section):
    """keepalived leaves `\\n` in a name as written; decoded, a name would start new lines in the log and on the
    notify FIFOs (a forged `INSTANCE "VI_2" MASTER` line for whatever reads them)."""
    with pytest.raises(ConfigError) as exc:
        parse(tmp_path, section + "\n")
    assert any(d.line == 1 and "holds control character" in d.message for d in exc.value.diagnostics), \
        [str(d) for d in exc.value.diagnostics]
