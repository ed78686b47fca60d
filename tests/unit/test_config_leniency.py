"""Where keepalived 2.2.7 warns and runs, vrrptui warns (file:line, what keepalived does) and runs the same way.

Each case was checked against keepalived 2.2.7 itself (`keepalived -t` and a real run in a namespace).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from vrrptui.config.check import main as check_main
from vrrptui.config.model import ConfigError
from vrrptui.config.parser import parse_config

IFACES = {"eth0", "eth1"}


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "keepalived.conf"
    path.write_text(textwrap.dedent(text))
    return str(path)


def parse(path: str, **kwargs):
    return parse_config(path, existing_interfaces=IFACES, **kwargs)


def instance(body: str, name: str = "VI_1", vrid: int = 51) -> str:
    """Line 1 `vrrp_instance`, 2 interface, 3 VRID, 4 the VIP; `body` starts at line 5."""
    return (f"vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n"
            f"  virtual_ipaddress {{ 10.0.0.{vrid} }}\n{textwrap.dedent(body)}}}\n")


def messages(config) -> list[str]:
    return [str(d) for d in config.warnings]


def test_undefined_track_script_is_dropped(tmp_path):
    path = write(tmp_path, instance("  track_script {\n    chk_gone\n  }\n"))
    config = parse(path)
    assert config.instances[0].track_scripts == ()
    assert messages(config) == [f"{path}:6: warning: track_script 'chk_gone' names no vrrp_script (known: none "
                                f"defined): keepalived ignores this tracker and so does vrrptui; define "
                                f"`vrrp_script chk_gone {{ script \"...\" }}` or fix the name"]


def test_vrrp_script_without_script_is_removed_with_its_trackers(tmp_path):
    path = write(tmp_path, "vrrp_script chk {\n  interval 2\n}\n" + instance("  track_script {\n    chk\n  }\n"))
    config = parse(path)
    assert (config.scripts, config.instances[0].track_scripts) == ((), ())
    first, second = messages(config)
    assert first.startswith(f"{path}:1: warning: vrrp_script chk has no `script \"COMMAND\"`: keepalived removes it")
    assert second.startswith(f"{path}:9: warning: track_script 'chk' names no vrrp_script")


@pytest.mark.parametrize("written, used", [("0.4", 1.0), ("1.4", 1.0), ("1.6", 2.0), ("2.5", 3.0)])
def test_v2_fractional_advert_int_is_rounded_like_keepalived(tmp_path, written, used):
    # Measured on keepalived 2.2.7's adverts: 0.4 -> 1 s, 1.4 -> 1 s, 1.6 -> 2 s, 2.5 -> 3 s.
    path = write(tmp_path, instance(f"  advert_int {written}\n"))
    config = parse(path)
    assert config.instances[0].advert_int == used
    assert messages(config)[0].startswith(f"{path}:5: warning: advert_int {written} is not a whole number of "
                                          f"seconds, which VRRPv2 needs: keepalived rounds it to {int(used)} s")


def test_v3_advert_int_is_rounded_to_centiseconds(tmp_path):
    path = write(tmp_path, instance("  version 3\n  advert_int 0.333\n"))
    config = parse(path)
    assert config.instances[0].advert_int == 0.33
    assert messages(config)[0].startswith(f"{path}:6: warning: advert_int 0.333: VRRPv3 counts centiseconds")


def test_unclosed_brace_reads_to_the_end_like_keepalived(tmp_path):
    inc = tmp_path / "lvs.conf"
    inc.write_text("virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 1\n  \n}\n")
    path = write(tmp_path, instance("") + "include lvs.conf\n")
    config = parse(path)
    assert [i.name for i in config.instances] == ["VI_1"]
    assert any(m.startswith(f"{inc}:2: warning: '{{' of 'real_server' is never closed") for m in messages(config))


def test_extra_closing_brace_is_ignored(tmp_path):
    path = write(tmp_path, instance("") + "}\n" + instance("", name="VI_2", vrid=52))
    config = parse(path)
    assert [i.name for i in config.instances] == ["VI_1", "VI_2"]
    assert messages(config)[0].startswith(f"{path}:6: warning: unexpected '}}': it closes no block; keepalived "
                                          f"ignores it")


def test_sync_group_without_group_block_is_removed(tmp_path):
    path = write(tmp_path, "vrrp_sync_group VG1 {\n  VI_1\n}\n" + instance(""))
    config = parse(path)
    assert (config.sync_groups, config.instances[0].sync_group) == ((), None)
    removed, stray = messages(config)
    assert removed.startswith(f"{path}:1: warning: vrrp_sync_group VG1 has no members: keepalived removes the group")
    assert stray == (f"{path}:2: warning: 'VI_1' alone in vrrp_sync_group: keepalived ignores it (\"Unknown "
                     f"keyword\"); instance names go inside `group {{ VI_1 }}`")


def test_unknown_auth_type_runs_without_authentication(tmp_path):
    path = write(tmp_path, instance("  authentication {\n    auth_type PASS;\n    auth_pass secret\n  }\n"))
    config = parse(path)
    assert config.instances[0].authentication is None
    assert messages(config) == [f"{path}:6: warning: unknown auth_type 'PASS;': keepalived runs this instance "
                                f"without authentication, and so does vrrptui; write `auth_type PASS` (or AH)"]


def test_two_settings_on_one_line_keepalived_reads_the_first(tmp_path):
    path = write(tmp_path, instance("  state MASTER priority 200\n"))
    inst = parse(path).instances[0]
    # keepalived reads `state MASTER`, never sees the priority, and so runs the instance as address owner.
    assert (inst.initial_state, inst.priority) == ("MASTER", 255)
    assert messages(parse(path)) == [f"{path}:5: warning: 'state' takes one value: keepalived uses 'MASTER' and "
                                     f"ignores 'priority 200' (put `priority 200` on its own line if it is a "
                                     f"setting)"]


def test_duplicate_instance_keeps_the_first(tmp_path):
    path = write(tmp_path, instance("  priority 150\n") + instance("  priority 50\n", vrid=52))
    config = parse(path)
    assert [(i.name, i.vrid, i.priority) for i in config.instances] == [("VI_1", 51, 150)]
    assert messages(config)[0].startswith(f"{path}:7: warning: vrrp_instance VI_1 is defined twice (first at "
                                          f"{path}:1): keepalived keeps the first")


def test_vrid_0_beside_valid_instances_stays_an_error(tmp_path):
    # keepalived 2.2.7 prints "the virtual router id must be set" and its VRRP process exits: nothing runs.
    path = write(tmp_path, instance("") + instance("", name="VI_0", vrid=0))
    with pytest.raises(ConfigError) as exc:
        parse(path)
    (error,) = [d for d in exc.value.diagnostics if d.severity == "error"]
    assert str(error).startswith(f"{path}:8: error: virtual_router_id 0 is out of range: use 1-255")


def test_conditional_lines_follow_the_config_id(tmp_path):
    path = write(tmp_path, instance("  @main priority 200\n  @backup priority 100\n  @^main nopreempt\n"))
    main = parse(path, config_id="main").instances[0]
    backup = parse(path, config_id="backup").instances[0]
    other = parse(path, config_id="other").instances[0]
    assert (main.priority, main.nopreempt) == (200, False)
    assert (backup.priority, backup.nopreempt) == (100, True)
    assert (other.priority, other.nopreempt) == (100, True)


def test_strict_turns_file_warnings_into_errors_but_not_host_warnings(tmp_path, capsys):
    path = write(tmp_path, instance("  advert_int 0.4\n"))
    assert check_main([path]) == 0
    assert check_main(["--strict", path]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5: error: advert_int 0.4 is not a whole number" in err and "[--strict]" in err
    clean = write(tmp_path, instance("").replace("eth0", "nosuch0"))
    assert check_main(["--strict", clean]) == 0
    assert "warning: interface 'nosuch0' does not exist on this host" in capsys.readouterr().err


def test_check_takes_the_config_id(tmp_path, capsys):
    path = write(tmp_path, instance("  @edge1 priority 201\n"))
    assert check_main(["-i", "edge1", path]) == 0
    assert " 201 " in capsys.readouterr().out
    assert check_main(["--config-id", "edge2", path]) == 0
    assert " 201 " not in capsys.readouterr().out
    assert check_main(["-i"]) == 2


def test_notify_words_after_the_script_are_user_and_group(tmp_path):
    path = write(tmp_path, instance("  notify_master /bin/n.sh --reason\n"
                                    "  notify_backup \"/bin/n.sh a 'b c'\" root root\n"))
    inst = parse(path).instances[0]
    assert (inst.notify_master.command, inst.notify_master.user) == ("/bin/n.sh", "--reason")
    assert (inst.notify_backup.argv, inst.notify_backup.user, inst.notify_backup.group) == (
        ("/bin/n.sh", "a", "b c"), "root", "root")
    (warning,) = messages(parse(path))
    assert warning.startswith(f"{path}:5: warning: keepalived reads '--reason' after the script as the user to run "
                              f"it as, not as an argument")
    assert warning.endswith("quote the whole command: `notify_master \"/bin/n.sh --reason\"`")
