"""keepalived.conf as users write it: includes, comments, quotes, braces, defaults."""

from __future__ import annotations

import ipaddress
import textwrap
from pathlib import Path

import pytest

from vrrptui.config.model import ConfigError, TrackInterface, TrackScript
from vrrptui.config.parser import parse_config

CASES = Path(__file__).resolve().parent / "config_cases"
IFACES = {"eth0", "eth1"}


def write(tmp_path: Path, text: str, name: str = "keepalived.conf") -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def parse(path: str):
    return parse_config(path, existing_interfaces=IFACES)


def instance_conf(body: str, name: str = "VI_1") -> str:
    return f"vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id 51\n{textwrap.dedent(body)}}}\n"


def test_include_glob_relative_to_including_file_and_nested():
    main = str(CASES / "includes" / "keepalived.conf")
    config = parse(main)
    assert config.files == (
        main,
        str(CASES / "includes" / "conf.d" / "10-vi1.conf"),
        str(CASES / "includes" / "conf.d" / "../scripts/chk.conf"),
        str(CASES / "includes" / "conf.d" / "20-vi2.conf"),
    )
    assert [i.name for i in config.instances] == ["VI_1", "VI_2"]
    vi1, vi2 = config.instances
    # global vrrp_version 3 applies; v3 allows centisecond intervals.
    assert (vi1.version, vi1.advert_int, vi1.track_scripts) == (3, 0.1, (TrackScript("chk_haproxy", 20),))
    assert config.script("chk_haproxy").script == "/usr/bin/killall -0 haproxy"
    assert config.global_defs.router_id == "INCLUDES"
    # global vrrp_garp_master_delay is the default; the instance keyword wins.
    assert (vi1.garp_master_delay, vi2.garp_master_delay) == (2.0, 7.0)
    assert (vi1.file, vi1.line) == (config.files[1], 2)
    assert config.warnings == ()


def test_include_matching_nothing_is_a_warning_with_its_line(tmp_path):
    path = write(tmp_path, "! nothing here yet\ninclude conf.d/*.conf\n"
                 + instance_conf("  virtual_ipaddress { 10.0.0.1 }\n"))
    (warning,) = parse(path).warnings
    assert str(warning).startswith(f"{path}:2: warning: include 'conf.d/*.conf' matches no file")


def test_include_loop_is_an_error(tmp_path):
    a = write(tmp_path, "include b.conf\n", "a.conf")
    write(tmp_path, "include a.conf\n", "b.conf")
    with pytest.raises(ConfigError) as exc:
        parse(a)
    assert any(str(d).startswith(f"{tmp_path / 'b.conf'}:1: error: include loop") for d in exc.value.diagnostics)


def test_include_with_braces_reads_each_alternative_in_turn(tmp_path):
    """keepalived globs with GLOB_BRACE: `{b,a}.conf` reads b.conf then a.conf (each alternative's files in
    turn); a nested brace and a brace with no comma (literal) work as in csh."""
    write(tmp_path, instance_conf("  virtual_ipaddress { 10.0.0.1 }\n", "VI_A"), "a.conf")
    write(tmp_path, instance_conf("  virtual_ipaddress { 10.0.0.2 }\n", "VI_B").replace("51", "52"), "b.conf")
    write(tmp_path, instance_conf("  virtual_ipaddress { 10.0.0.3 }\n", "VI_C").replace("51", "53"), "c1.conf")
    config = parse(write(tmp_path, "include {b,a,c{1,2}}.conf\n"))
    assert [i.name for i in config.instances] == ["VI_B", "VI_A", "VI_C"]
    assert [w.message for w in config.warnings] == []
    (warning,) = parse(write(tmp_path, "include {a}.conf ! literal\n", "literal.conf")).warnings
    assert "include '{a}.conf' matches no file" in str(warning)


def test_include_that_cannot_be_expanded_is_an_error_with_its_line(tmp_path):
    path = write(tmp_path, "include " + "{a,b}" * 11 + ".conf\n")  # 2048 patterns
    with pytest.raises(ConfigError) as exc:
        parse(path)
    assert [str(d).split(" (")[0] for d in exc.value.diagnostics] == [
        f"{path}:1: error: include '{'{a,b}' * 11}.conf' cannot be expanded"]
    path = write(tmp_path, "include " + "*/" * 1000 + "x.conf\n", "deep.conf")  # glob recurses a level a part
    with pytest.raises(ConfigError) as exc:
        parse(path)
    assert "cannot be expanded (too many wildcard levels)" in str(exc.value.diagnostics[0])
    path = write(tmp_path, "include a.conf b.conf\n", "two.conf")
    with pytest.raises(ConfigError) as exc:
        parse(path)
    assert "include takes one file name or glob" in str(exc.value.diagnostics[0])


def test_words_are_split_at_ascii_spaces_only(tmp_path):
    """keepalived splits at C's isspace(): a no-break space stays in the word, so `auth_pass ab<NBSP>cd` is one
    password there (and must be here, or a mixed pair would not authenticate each other)."""
    path = write(tmp_path, instance_conf("  authentication {\n    auth_type PASS\n    auth_pass ab\u00a0cd\n  }\n"
                                         "  virtual_ipaddress {\t10.0.0.1\t}\n"))
    config = parse(path)
    assert config.instances[0].authentication.auth_pass == "ab\u00a0cd".encode().decode("latin-1")
    assert config.warnings == ()


def test_control_escape_of_a_letter_whose_capital_is_two_letters(tmp_path):
    """`\\cX` is a control character as keepalived makes it (toupper(X) ^ 0x40); `\\cß` is not an error."""
    path = write(tmp_path, 'global_defs {\n  router_id "\\cß"\n}\n')
    assert parse(path).global_defs.router_id == chr(ord("ß") ^ 0x40)
    path = write(tmp_path, 'global_defs {\n  router_id "a\\c[b"\n}\n', "esc.conf")
    assert parse(path).global_defs.router_id == "a\x1bb"


def test_include_inside_a_block(tmp_path):
    write(tmp_path, "  virtual_ipaddress {\n    10.0.0.1/24\n  }\n", "vips.inc")
    path = write(tmp_path, instance_conf("  include vips.inc\n"))
    (vi,) = parse(path).instances
    assert [str(v) for v in vi.virtual_ipaddresses] == ["10.0.0.1/24"]


def test_comments_after_values_with_both_markers(tmp_path):
    path = write(tmp_path, instance_conf("""\
          priority 120 # hash comment
          advert_int 2 ! bang comment
        # a whole-line hash comment
        ! a whole-line bang comment
          virtual_ipaddress {   # after a brace
            10.0.0.1/24 ! after an address
          }
        """))
    (vi,) = parse(path).instances
    assert (vi.priority, vi.advert_int, [str(v) for v in vi.virtual_ipaddresses]) == (120, 2.0, ["10.0.0.1/24"])


def test_comment_markers_inside_quotes_are_kept(tmp_path):
    path = write(tmp_path, instance_conf("""\
          notify_master "/usr/local/bin/notify.sh master #1 !urgent"   # real comment
          virtual_ipaddress { 10.0.0.1 }
        """))
    (vi,) = parse(path).instances
    assert vi.notify_master.command == "/usr/local/bin/notify.sh master #1 !urgent"


def test_quoted_command_with_spaces_and_unquoted_rest_of_line(tmp_path):
    path = write(tmp_path, """\
        vrrp_script chk {
          script "/bin/sh -c 'exit 0'"
          weight -20 reverse
        }
        """ + instance_conf("""\
          notify "/etc/keepalived/notify.sh" ! the notify script
          notify_backup "/etc/keepalived/backup.sh --reason 'two words'" keepalived_script
          track_script {
            chk
          }
          virtual_ipaddress { 10.0.0.1 }
        """))
    config = parse(path)
    script = config.script("chk")
    assert (script.script, script.weight, script.weight_reverse) == ("/bin/sh -c 'exit 0'", -20, True)
    (vi,) = config.instances
    assert vi.notify.command == "/etc/keepalived/notify.sh"
    # keepalived's `SCRIPT [user [group]]`: the quoted script splits again into argv, then the user.
    assert vi.notify_backup.argv == ("/etc/keepalived/backup.sh", "--reason", "two words")
    assert (vi.notify_backup.user, vi.notify_backup.group) == ("keepalived_script", None)


def test_reverse_and_noreverse_on_track_lines_are_kept(tmp_path):
    # keepalived accepts both on track_script and track_interface lines; `noreverse` was refused, and `reverse`
    # warned about and dropped
    path = write(tmp_path, """\
        vrrp_script chk {
          script "/bin/true"
          weight 20 reverse
        }
        """ + instance_conf("""\
          track_script {
            chk weight -20 noreverse
          }
          track_interface {
            eth1 weight 30 reverse
          }
          virtual_ipaddress { 10.0.0.1 }
        """))
    config = parse(path)
    (vi,) = config.instances
    assert [(t.name, t.weight, t.reverse) for t in vi.track_scripts] == [("chk", -20, False)]
    assert [(t.name, t.weight, t.reverse) for t in vi.track_interfaces] == [("eth1", 30, True)]
    assert not config.warnings


def test_braces_on_the_same_line_as_values_and_on_the_next_line(tmp_path):
    path = write(tmp_path, """\
        vrrp_instance VI_1 { interface eth0
          virtual_router_id 51
          unicast_src_ip 10.0.0.2
          unicast_peer { 10.0.0.1 }
          track_interface { eth1 weight -30 }
          virtual_ipaddress
          {
            10.0.0.10/24 brd 10.0.0.255 dev eth1 scope global label eth1:vip
          } }
        """)
    (vi,) = parse(path).instances
    assert [p.address for p in vi.unicast_peers] == [ipaddress.ip_address("10.0.0.1")]
    assert vi.track_interfaces == (TrackInterface("eth1", -30),)
    (vip,) = vi.virtual_ipaddresses
    assert (str(vip), vip.brd, vip.dev, vip.scope, vip.label) == ("10.0.0.10/24", "10.0.0.255", "eth1", "global",
                                                                  "eth1:vip")


def test_backslash_escapes_a_comment_marker_outside_quotes(tmp_path):
    path = write(tmp_path, instance_conf("""\
          authentication {
            auth_type PASS
            auth_pass ab\\#cd
          }
          virtual_ipaddress { 10.0.0.1 }
        """))
    (vi,) = parse(path).instances
    assert vi.authentication.auth_pass == "ab#cd"


def test_comment_marker_inside_a_word_cuts_it_with_a_warning(tmp_path):
    path = write(tmp_path, instance_conf("""\
          authentication {
            auth_type PASS
            auth_pass ab#cd
          }
          virtual_ipaddress { 10.0.0.1 }
        """))
    config = parse(path)
    assert config.instances[0].authentication.auth_pass == "ab"
    (warning,) = config.warnings
    assert str(warning).startswith(f"{path}:6: warning: '#' starts a comment in the middle of 'ab#cd'")


def test_keepalived_defaults(tmp_path):
    path = write(tmp_path, instance_conf("  virtual_ipaddress { 10.0.0.1 }\n"))
    (vi,) = parse(path).instances
    assert (vi.priority, vi.advert_int, vi.version, vi.family, vi.initial_state) == (100, 1.0, 2, 4, "BACKUP")
    assert (vi.garp_master_delay, vi.garp_master_repeat, vi.garp_master_refresh) == (5.0, 5, 0.0)
    assert (vi.nopreempt, vi.preempt_delay, vi.use_vmac, vi.authentication) == (False, 0.0, False, None)


def test_state_master_without_priority_is_the_owner_as_in_keepalived(tmp_path):
    path = write(tmp_path, instance_conf("  state MASTER\n  virtual_ipaddress { 10.0.0.1 }\n"))
    (vi,) = parse(path).instances
    assert (vi.priority, vi.owner) == (255, True)


def test_priority_255_without_state_starts_master(tmp_path):
    path = write(tmp_path, instance_conf("  priority 255\n  virtual_ipaddress { 10.0.0.1 }\n"))
    assert parse(path).instances[0].initial_state == "MASTER"


def test_ipv6_vips_imply_v3_and_family_6(tmp_path):
    path = write(tmp_path, instance_conf("  advert_int 0.5\n  virtual_ipaddress { fe80::1/64\n 2001:db8::1 }\n"))
    (vi,) = parse(path).instances
    assert (vi.version, vi.family, vi.advert_int) == (3, 6, 0.5)
    assert [str(v) for v in vi.virtual_ipaddresses] == ["fe80::1/64", "2001:db8::1/128"]


def test_instance_version_overrides_global_vrrp_version(tmp_path):
    path = write(tmp_path, "global_defs {\n  vrrp_version 3\n}\n" + instance_conf(
        "  version 2\n  virtual_ipaddress { 10.0.0.1 }\n"))
    assert parse(path).instances[0].version == 2


def test_everything_else_an_instance_can_say(tmp_path):
    path = write(tmp_path, instance_conf("""\
          state BACKUP
          priority 90
          nopreempt
          preempt_delay 30
          mcast_src_ip 10.0.0.2
          use_vmac vrrp51
          dont_track_primary
          garp_master_delay 1
          garp_master_repeat 3
          garp_master_refresh 60
          garp_master_refresh_repeat 2
          garp_interval 0.001
          gna_interval 0.002
          notify_fault "/bin/fault.sh"
          notify_stop /bin/stop.sh
          virtual_ipaddress { 10.0.0.1 }
          virtual_ipaddress_excluded {
            10.9.9.9/24
            2001:db8::9/64
          }
        """))
    (vi,) = parse(path).instances
    assert (vi.nopreempt, vi.preempt_delay, vi.mcast_src_ip) == (True, 30.0, ipaddress.ip_address("10.0.0.2"))
    assert (vi.use_vmac, vi.vmac_interface, vi.dont_track_primary) == (True, "vrrp51", True)
    assert (vi.garp_master_delay, vi.garp_master_repeat, vi.garp_master_refresh, vi.garp_master_refresh_repeat,
            vi.garp_interval, vi.gna_interval) == (1.0, 3, 60.0, 2, 0.001, 0.002)
    assert (vi.notify_fault.command, vi.notify_stop.command) == ("/bin/fault.sh", "/bin/stop.sh")
    # Excluded addresses may mix families (keepalived allows it) and are not advertised.
    assert [str(v) for v in vi.virtual_ipaddresses_excluded] == ["10.9.9.9/24", "2001:db8::9/64"]
    assert [str(v) for v in vi.advertised_vips] == ["10.0.0.1/32"]


def test_sync_group_members_and_notify(tmp_path):
    path = write(tmp_path, """\
        vrrp_sync_group VG_1 {
          group {
            VI_1 VI_2
          }
          notify_master "/bin/vg.sh master"
        }
        """ + instance_conf("  virtual_ipaddress { 10.0.0.1 }\n") + """\
        vrrp_instance VI_2 {
          interface eth1
          virtual_router_id 52
          virtual_ipaddress { 10.1.0.1 }
        }
        """)
    config = parse(path)
    (group,) = config.sync_groups
    assert (group.name, group.members, group.notify_master.command) == ("VG_1", ("VI_1", "VI_2"), "/bin/vg.sh master")
    assert [i.sync_group for i in config.instances] == ["VG_1", "VG_1"]


def test_unicast_instance_without_interface_is_refused(tmp_path):
    """keepalived 2.2.7 stops at start: "(VI_1) Unknown interface!" (keepalived's docs say 2.1 lifted it)."""
    path = write(tmp_path, """\
        vrrp_instance VI_1 {
          virtual_router_id 51
          unicast_peer {
            10.0.0.1
          }
          virtual_ipaddress { 10.0.0.10 }
        }
        """)
    with pytest.raises(ConfigError, match="has no interface: add `interface IFNAME`"):
        parse(path)


def test_unicast_peer_min_and_max_ttl(tmp_path):
    path = write(tmp_path, """\
        vrrp_instance VI_1 {
          interface eth0
          virtual_router_id 51
          unicast_peer {
            2001:db8:1::12 min_ttl 64 max_ttl 255
            2001:db8:1::13
          }
          virtual_ipaddress { 2001:db8:1::100/64 }
        }
        """)
    (vi,) = parse(path).instances
    assert [(str(p.address), p.min_ttl, p.max_ttl) for p in vi.unicast_peers] == [
        ("2001:db8:1::12", 64, 255), ("2001:db8:1::13", None, None)]
    bad = write(tmp_path, """\
        vrrp_instance VI_1 {
          virtual_router_id 51
          unicast_peer {
            10.0.0.1 min_ttl 200 max_ttl 100
          }
          virtual_ipaddress { 10.0.0.10 }
        }
        """, "bad.conf")
    with pytest.raises(ConfigError, match="min_ttl 200 is above max_ttl 100"):
        parse(bad)


def test_global_defs_keywords(tmp_path):
    path = write(tmp_path, """\
        global_defs {
          router_id R1
          enable_script_security
          script_user keepalived_script
          vrrp_check_unicast_src
          vrrp_skip_check_adv_addr
          vrrp_strict
          vrrp_iptables
          vrrp_garp_master_repeat 2
          vrrp_garp_master_refresh 30
          vrrp_garp_master_refresh_repeat 3
          vrrp_garp_interval 0.01
          vrrp_gna_interval 0.02
        }
        """ + instance_conf("  virtual_ipaddress { 10.0.0.1 }\n"))
    config = parse(path)
    g = config.global_defs
    assert (g.router_id, g.script_user, g.script_group, g.vrrp_strict, g.vrrp_iptables, g.vrrp_skip_check_adv_addr) \
        == ("R1", "keepalived_script", None, True, True, True)
    vi = config.instances[0]
    assert (vi.garp_master_repeat, vi.garp_master_refresh, vi.garp_master_refresh_repeat, vi.garp_interval,
            vi.gna_interval) == (2, 30.0, 3, 0.01, 0.02)
