"""keepalived's wire-changing rules: strict mode, accept mode, AH with state MASTER, the loopback.

Each case's wording and outcome were read off keepalived 2.2.7 running the same block.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from vrrptui.config.model import ConfigError, VrrpInstance
from vrrptui.config.parser import parse_config

STRICT = "global_defs {\n  vrrp_strict\n}\n"  # lines 1-3; an instance then starts at line 4


def instance(body: str, vips: str = "  virtual_ipaddress {\n    10.0.0.10/24\n  }\n") -> str:
    """`vrrp_instance VI_1 {` then interface and VRID; `body` follows on the next lines."""
    return f"vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n{textwrap.dedent(body)}{vips}}}\n"


def load(tmp_path: Path, text: str) -> tuple[VrrpInstance, list[str], str]:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    config = parse_config(str(path), existing_interfaces={"eth0"})
    return config.instances[0], [str(w) for w in config.warnings], str(path)


def errors(tmp_path: Path, text: str) -> tuple[list[str], str]:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        parse_config(str(path), existing_interfaces={"eth0"})
    return [str(d) for d in exc.value.diagnostics if d.severity == "error"], str(path)


def test_strict_ignores_authentication_and_says_so(tmp_path: Path) -> None:
    inst, warnings, path = load(tmp_path, STRICT + instance(
        "  priority 100\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n"))
    assert inst.strict_mode and inst.authentication is None
    assert f"{path}:8: warning: (VI_1) Strict mode does not support authentication. Ignoring." in "\n".join(warnings)


def test_strict_state_master_must_match_being_address_owner(tmp_path: Path) -> None:
    inst, warnings, path = load(tmp_path, STRICT + instance("  state MASTER\n  priority 100\n"))
    assert inst.initial_state == "BACKUP"
    assert warnings == [f"{path}:7: warning: (VI_1) State MASTER must match being address owner (strict mode): "
                        f"keepalived starts this instance as BACKUP"]
    inst, warnings, _ = load(tmp_path, STRICT + instance("  state BACKUP\n  priority 255\n"))
    assert inst.initial_state == "MASTER" and len(warnings) == 1


def test_strict_without_a_vip_does_not_start(tmp_path: Path) -> None:
    found, path = errors(tmp_path, STRICT + instance("  priority 100\n", vips=""))
    assert found == [f"{path}:4: error: (VI_1) No VIP specified; at least one is required (strict mode): keepalived "
                     f"does not start; add a virtual_ipaddress block or turn strict mode off"]


def test_strict_resets_preempt_delay_and_warns_about_unicast(tmp_path: Path) -> None:
    inst, warnings, path = load(tmp_path, STRICT + instance(
        "  priority 100\n  preempt_delay 5\n  unicast_peer {\n    10.0.0.2\n  }\n"))
    assert inst.preempt_delay == 0.0 and inst.unicast  # keepalived 2.2.7 runs unicast in strict mode
    text = "\n".join(warnings)
    assert f"{path}:8: warning: (VI_1) preempt_delay is incompatible with strict mode - resetting" in text
    assert f"{path}:9: warning: (VI_1) unicast peers are not VRRP as RFC 5798 defines it" in text


@pytest.mark.parametrize("top, body, accept", [
    ("", "  priority 100\n", True),  # keepalived's default outside strict mode
    ("", "  priority 100\n  no_accept\n", False),
    (STRICT, "  priority 100\n", False),  # strict: no accept unless the address owner
    (STRICT, "  priority 255\n", True),
    (STRICT, "  priority 100\n  version 3\n  accept\n", True),
    ("", "  priority 100\n  strict_mode\n", False),  # the instance's own strict mode
    (STRICT, "  priority 100\n  strict_mode off\n", True),
])
def test_accept_mode_defaults(tmp_path: Path, top: str, body: str, accept: bool) -> None:
    inst, _, _ = load(tmp_path, top + instance(body))
    assert inst.accept is accept


def test_strict_vrrpv2_accept_is_reset_as_keepalived_does(tmp_path: Path) -> None:
    inst, warnings, path = load(tmp_path, STRICT + instance("  priority 100\n  accept\n"))
    assert inst.accept is False
    assert warnings == [f"{path}:8: warning: (VI_1) warning - accept mode for VRRP version 2 does not comply with "
                        f"RFC3768 - resetting: packets to the VIPs are dropped while master"]


def test_ah_clears_initial_state_master(tmp_path: Path) -> None:
    inst, warnings, path = load(tmp_path, instance(
        "  state MASTER\n  priority 150\n  authentication {\n    auth_type AH\n    auth_pass secret\n  }\n"))
    assert inst.initial_state == "BACKUP" and inst.authentication is not None
    assert warnings[0].startswith(f"{path}:4: warning: (VI_1) Initial state master is incompatible with AH "
                                  f"authentication - clearing")
    owner, warnings, _ = load(tmp_path, instance(
        "  state MASTER\n  priority 255\n  authentication {\n    auth_type AH\n    auth_pass secret\n  }\n"))
    assert owner.initial_state == "MASTER" and warnings == []


def test_interface_lo_is_refused(tmp_path: Path) -> None:
    found, path = errors(tmp_path, instance("  priority 100\n").replace("interface eth0", "interface lo"))
    assert found == [f"{path}:2: error: (VI_1) cannot use a loopback interface (lo) for vrrp: keepalived refuses the "
                     f"configuration and does not start; use the interface that faces the other routers"]


def test_strict_mode_value_must_be_a_boolean(tmp_path: Path) -> None:
    inst, warnings, path = load(tmp_path, instance("  priority 100\n  strict_mode maybe\n"))
    assert inst.strict_mode is False
    assert warnings == [f"{path}:5: warning: invalid value 'maybe' for strict_mode: keepalived ignores the line; "
                        f"use true/false, yes/no or on/off"]


def test_strict_ipv6_wants_a_link_local_first_vip(tmp_path: Path) -> None:
    six = "  virtual_ipaddress {\n    2001:db8::10/64\n    fe80::10/64\n  }\n"
    _, warnings, path = load(tmp_path, STRICT + instance("  priority 100\n", vips=six))
    assert warnings == [f"{path}:9: warning: (VI_1) the first IPv6 VIP address must be link local (strict mode, "
                        f"RFC 5798 5.2.9): keepalived runs the instance anyway; list a fe80:: address first"]
    _, warnings, _ = load(tmp_path, STRICT + instance("  priority 100\n", vips=six.replace(
        "2001:db8::10/64\n    fe80::10/64", "fe80::10/64\n    2001:db8::10/64")))
    assert warnings == []
