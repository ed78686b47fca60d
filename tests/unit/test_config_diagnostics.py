"""Each error (exit 2) and warning (exit 0) names its exact file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from vrrptui.config.model import ConfigError
from vrrptui.config.parser import parse_config

IFACES = {"eth0", "eth1"}


def write(tmp_path: Path, text: str, name: str = "keepalived.conf") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def errors(path: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(path, existing_interfaces=IFACES)
    return [str(d) for d in exc.value.diagnostics if d.severity == "error"]


def warnings(path: str, existing: set[str] = IFACES) -> list[str]:
    return [str(d) for d in parse_config(path, existing_interfaces=existing).warnings]


def instance(body: str, head: str = "  interface eth0\n  virtual_router_id 51\n", name: str = "VI_1") -> str:
    """Line 1 is `vrrp_instance`, lines 2-3 interface and VRID; `body` starts at line 4."""
    return f"vrrp_instance {name} {{\n{head}{textwrap.dedent(body)}}}\n"


def only(items: list[str]) -> str:
    assert len(items) == 1, items
    return items[0]


# --- errors ----------------------------------------------------------------------

@pytest.mark.parametrize("body, line, message", [
    ("  priority 256\n", 4, "error: priority 256 is out of range: use 1-255"),
    ("  priority 0\n", 4, "error: priority 0 is out of range: use 1-255"),
    ("  priority high\n", 4, "error: priority 'high' is not a whole number: use 1-255"),
    ("  advert_int 256\n", 4, "error: advert_int 256 s is out of range"),
    ("  version 3\n  advert_int 41\n", 5, "error: advert_int 41 is out of range for VRRPv3: use 0.01-40.95 s"),
    ("  version 3\n  advert_int 0.001\n", 5, "error: advert_int 0.001 is out of range for VRRPv3: use 0.01-40.95 s"),
    ("  version 4\n", 4, "error: VRRP version 4 is out of range: use 2-3"),
    ("  unicast_peer {\n    2001:db8::1\n  }\n  virtual_ipaddress { 10.0.0.1 }\n", 4,
     "error: unicast peer 2001:db8::1 is IPv6 but the instance is IPv4"),
    ("  virtual_ipaddress {\n    10.0.0.1/24\n    2001:db8::1/64\n  }\n", 6,
     "error: virtual_ipaddress mixes IPv4 (10.0.0.1/24) and IPv6 (2001:db8::1/64)"),
    ("  track_interface {\n    eth1 weight 300\n  }\n", 5, "error: weight 300 is out of range: use -253-253"),
])
def test_bad_values_are_errors_at_their_line(tmp_path, body, line, message):
    path = write(tmp_path, instance(body))
    assert f"{path}:{line}: {message}" in "\n".join(errors(path))


# keepalived skips these (with a message) and runs: so does vrrptui, with a warning.
@pytest.mark.parametrize("body, line, message", [
    ("  virtual_ipaddress {\n    192.168.1.300/24\n  }\n", 5, "warning: invalid virtual address '192.168.1.300/24'"),
    ("  virtual_ipaddress {\n    2001:db8:ff/64\n  }\n", 5, "warning: invalid virtual address '2001:db8:ff/64'"),
    ("  virtual_ipaddress {\n    10.0.0.1/33\n  }\n", 5, "warning: invalid virtual address '10.0.0.1/33'"),
    ("  virtual_ipaddress {\n    10.0.0.1 colour blue\n  }\n", 5, "warning: unknown virtual address option 'colour'"),
    ("  unicast_src_ip 10.0.0.256\n", 4, "warning: unicast_src_ip '10.0.0.256' is not a valid IPv4 or IPv6 address"),
    ("  unicast_peer {\n    10.0.0.1\n    10.0.0.x\n  }\n", 6, "warning: unicast peer '10.0.0.x' is not a valid"),
    ("  mcast_src_ip nowhere\n", 4, "warning: mcast_src_ip 'nowhere' is not a valid IPv4 or IPv6 address"),
])
def test_values_keepalived_skips_are_warnings_at_their_line(tmp_path, body, line, message):
    path = write(tmp_path, instance(body + "  virtual_ipaddress { 10.0.0.9 }\n"))
    assert f"{path}:{line}: {message}" in "\n".join(warnings(path))


def test_vrid_out_of_range(tmp_path):
    path = write(tmp_path, instance("", head="  interface eth0\n  virtual_router_id 256\n"))
    assert only(errors(path)).startswith(f"{path}:3: error: virtual_router_id 256 is out of range: use 1-255")


def test_missing_virtual_router_id(tmp_path):
    path = write(tmp_path, "! header\n" + instance("  virtual_ipaddress { 10.0.0.1 }\n", head="  interface eth0\n"))
    assert only(errors(path)).startswith(f"{path}:2: error: vrrp_instance VI_1 has no virtual_router_id")


def test_multicast_instance_without_interface(tmp_path):
    path = write(tmp_path, instance("  virtual_ipaddress { 10.0.0.1 }\n", head="  virtual_router_id 51\n"))
    assert only(errors(path)).startswith(f"{path}:1: error: vrrp_instance VI_1 has no interface: multicast needs one")


def test_duplicate_vrid_on_same_interface_and_family(tmp_path):
    path = write(tmp_path, instance("  virtual_ipaddress { 10.0.0.1 }\n")
                 + instance("  virtual_ipaddress { 10.0.0.2 }\n", name="VI_2"))
    assert only(errors(path)).startswith(f"{path}:8: error: VRID 51 is already used by vrrp_instance VI_1 "
                                         f"({path}:1) on eth0 for IPv4")


def test_same_vrid_on_other_interface_or_family_is_fine(tmp_path):
    path = write(tmp_path, instance("  virtual_ipaddress { 10.0.0.1 }\n")
                 + instance("  virtual_ipaddress { 2001:db8::1 }\n", name="VI_6")
                 + instance("  virtual_ipaddress { 10.0.0.2 }\n", head="  interface eth1\n  virtual_router_id 51\n",
                            name="VI_eth1"))
    assert len(parse_config(path, existing_interfaces=IFACES).instances) == 3


def test_unclosed_brace_names_the_block_whose_brace_is_missing(tmp_path):
    path = write(tmp_path, """\
        vrrp_instance VI_1 {
          interface eth0
          virtual_router_id 51
          unicast_peer {
            10.0.0.1
          virtual_ipaddress {
            10.0.0.10
          }
        }
        """)
    # keepalived's reading, and so vrrptui's: `virtual_ipaddress` becomes a (malformed, skipped) unicast peer.
    novip, first, second = warnings(path)
    assert novip.startswith(f"{path}:1: warning: (VI_1) No VIP specified; at least one is sensible")  # so none
    assert first.startswith(f"{path}:4: warning: '{{' of 'unicast_peer' is never closed: keepalived reads "
                            f"everything after it")
    assert second.startswith(f"{path}:6: warning: unicast peer 'virtual_ipaddress' is not a valid")


def test_unclosed_brace_without_indentation_names_the_innermost_open_block(tmp_path):
    path = write(tmp_path, "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 51\n"
                           "virtual_ipaddress {\n10.0.0.10\n}\n")
    assert only(warnings(path)).startswith(f"{path}:1: warning: '{{' of 'vrrp_instance' is never closed")


def test_extra_closing_brace_names_its_line(tmp_path):
    path = write(tmp_path, instance("  virtual_ipaddress { 10.0.0.1 }\n") + "}\n")
    assert only(warnings(path)).startswith(f"{path}:6: warning: unexpected '}}': it closes no block")


def test_unterminated_quote(tmp_path):
    path = write(tmp_path, instance('  notify_master "/bin/x.sh\n  virtual_ipaddress { 10.0.0.1 }\n'))
    assert only(errors(path)).startswith(f"{path}:4: error: unterminated quoted string")


def test_error_in_included_file_names_that_file(tmp_path):
    inc = write(tmp_path, instance("  priority 300\n"), "inc.conf")
    path = write(tmp_path, "! main\ninclude inc.conf\n")
    assert only(errors(path)).startswith(f"{inc}:4: error: priority 300 is out of range")


def test_all_errors_are_reported_together(tmp_path):
    path = write(tmp_path, instance("  priority 300\n  version 4\n"))
    assert [e.split(": error")[0] for e in errors(path)] == [f"{path}:4", f"{path}:5"]


def test_missing_file_is_an_error():
    with pytest.raises(ConfigError) as exc:
        parse_config("/nonexistent/keepalived.conf")
    (d,) = exc.value.diagnostics
    assert (d.file, d.line, d.severity) == ("/nonexistent/keepalived.conf", 0, "error")
    assert "No such file" in d.message


# --- warnings --------------------------------------------------------------------

def test_unknown_keyword(tmp_path):
    path = write(tmp_path, instance("  virtual_ipaddress { 10.0.0.1 }\n  priorty 120\n"))
    assert only(warnings(path)).startswith(f"{path}:5: warning: unknown keyword 'priorty' in vrrp_instance")


def test_unknown_top_level_keyword(tmp_path):
    path = write(tmp_path, "vrrp_instnace VI_1 {\n  priority 1\n}\n")
    assert only(warnings(path)).startswith(f"{path}:1: warning: unknown keyword 'vrrp_instnace' in the top level")


def test_auth_in_v3_instance_is_ignored(tmp_path):
    path = write(tmp_path, instance("  version 3\n  authentication {\n    auth_type PASS\n    auth_pass 1212\n  }\n"
                                    "  virtual_ipaddress { 10.0.0.1 }\n"))
    assert only(warnings(path)).startswith(f"{path}:5: warning: VRRPv3 has no authentication")
    assert parse_config(path, existing_interfaces=IFACES).instances[0].authentication is None


def test_auth_pass_longer_than_8_is_truncated(tmp_path):
    path = write(tmp_path, instance("  authentication {\n    auth_type PASS\n    auth_pass PostgresReplication\n  }\n"
                                    "  virtual_ipaddress { 10.0.0.1 }\n"))
    assert only(warnings(path)).startswith(f"{path}:6: warning: auth_pass is 19 bytes")
    assert parse_config(path, existing_interfaces=IFACES).instances[0].authentication.auth_pass == "Postgres"


def test_nopreempt_with_state_master(tmp_path):
    path = write(tmp_path, instance("  state MASTER\n  priority 100\n  nopreempt\n  virtual_ipaddress { 10.0.0.1 }\n"))
    assert only(warnings(path)).startswith(f"{path}:6: warning: nopreempt only works with `state BACKUP`")
    assert parse_config(path, existing_interfaces=IFACES).instances[0].nopreempt is False


def test_nopreempt_with_priority_255(tmp_path):
    path = write(tmp_path, instance("  priority 255\n  nopreempt\n  virtual_ipaddress { 10.0.0.1 }\n"))
    assert only(warnings(path)).startswith(f"{path}:5: warning: nopreempt has no effect with priority 255")


def test_weighted_trackers_on_the_address_owner(tmp_path):
    path = write(tmp_path, """\
        vrrp_script chk {
          script "/bin/true"
          weight 10
        }
        """ + instance("""\
          priority 255
          track_script {
            chk
          }
          track_interface {
            eth1 weight -10
            eth0
          }
          virtual_ipaddress { 10.0.0.1 }
        """))
    assert warnings(path) == [
        f"{path}:10: warning: tracked script 'chk' has weight 10 but priority 255 (address owner) cannot change: "
        f"keepalived ignores this tracker",
        f"{path}:13: warning: tracked interface 'eth1' has weight -10 but priority 255 (address owner) cannot change: "
        f"keepalived ignores this tracker",
        f"{path}:14: warning: (VI_1) Ignoring track_interface eth0 since own interface (it is tracked already: down "
        f"is a FAULT)",
    ]
    vi = parse_config(path, existing_interfaces=IFACES).instances[0]
    assert ([t.name for t in vi.track_scripts], [t.name for t in vi.track_interfaces]) == ([], [])


def test_state_in_wrong_case_starts_backup_as_keepalived_does(tmp_path):
    # keepalived 2.2.7: "(VI_1) unknown state 'Master', defaulting to BACKUP" -- it is case-sensitive.
    path = write(tmp_path, instance("  state Master\n  priority 101\n  virtual_ipaddress { 10.0.0.1 }\n"))
    assert only(warnings(path)).startswith(f"{path}:4: warning: unknown state 'Master': keepalived's keywords are "
                                           f"case-sensitive")
    assert parse_config(path, existing_interfaces=IFACES).instances[0].initial_state == "BACKUP"


def test_interface_missing_on_this_host(tmp_path):
    path = write(tmp_path, instance("  virtual_ipaddress { 10.0.0.1 dev eth9 }\n"))
    assert warnings(path, existing={"eth0"}) == [
        f"{path}:4: warning: interface 'eth9' does not exist on this host (fine if this config is for another machine)",
    ]
    assert warnings(path, existing=set())[0].startswith(f"{path}:2: warning: interface 'eth0' does not exist")
    assert parse_config(path, check_interfaces=False).warnings == ()


def test_explicit_version_2_with_ipv6_switches_to_3(tmp_path):
    path = write(tmp_path, instance("  version 2\n  virtual_ipaddress { 2001:db8::1 }\n"))
    assert only(warnings(path)).startswith(f"{path}:4: warning: VRRPv2 cannot carry IPv6 addresses")
    assert parse_config(path, existing_interfaces=IFACES).instances[0].version == 3


def test_not_implemented_keepalived_keyword(tmp_path):
    path = write(tmp_path, instance("  smtp_alert\n  virtual_ipaddress { 10.0.0.1 }\n"))
    assert only(warnings(path)) == (f"{path}:4: warning: 'smtp_alert' in vrrp_instance is known to keepalived, not "
                                    f"acted on by vrrptui: ignored (keepalived: SMTP alert on transitions)")
