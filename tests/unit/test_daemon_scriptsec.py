"""Script preparation as keepalived does it: user, path search, enable_script_security."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from vrrptui.config.model import GlobalDefs
from vrrptui.daemon.scriptsec import ScriptRefused, insecure_component, prepare, split_command

SECURE = GlobalDefs(enable_script_security=True, script_user="root")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="ownership checks need root to chown files")


def script(directory: Path, mode: int = 0o755) -> Path:
    path = directory / "chk.sh"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


def secure_dir(tmp_path: Path) -> Path:
    d = tmp_path / "secure"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    return d


def test_split_command_keeps_quoted_arguments_together() -> None:
    assert split_command("/usr/bin/test -f '/tmp/a b'") == ["/usr/bin/test", "-f", "/tmp/a b"]
    assert split_command('/bin/echo "unbalanced') == ["/bin/echo", '"unbalanced']


@root_only
def test_world_writable_script_is_refused_with_keepalived_wording(tmp_path: Path) -> None:
    path = script(secure_dir(tmp_path), 0o777)
    with pytest.raises(ScriptRefused) as err:
        prepare(str(path), None, None, SECURE)
    assert str(err.value) == f"Unsafe permissions found for script '{path}' - disabling."
    assert err.value.disabling("track script", "chk") == "Disabling track script chk due to insecure"


@root_only
def test_script_in_a_world_writable_directory_is_refused(tmp_path: Path) -> None:
    d = secure_dir(tmp_path)
    path = script(d)
    d.chmod(0o777)
    assert insecure_component(str(path)) == str(d)
    with pytest.raises(ScriptRefused):
        prepare(str(path), None, None, SECURE)


@root_only
def test_script_owned_by_another_user_is_insecure(tmp_path: Path) -> None:
    path = script(secure_dir(tmp_path))
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    assert insecure_component(str(path)) == str(path)


@root_only
def test_sticky_world_writable_directory_is_fine(tmp_path: Path) -> None:
    d = secure_dir(tmp_path)
    path = script(d)
    d.chmod(0o1777)  # like /tmp
    assert insecure_component(str(path)) is None
    command, logs = prepare(f"{path} --flag", None, None, SECURE)
    assert command.argv == (str(path), "--flag") and (command.uid, command.gid) == (0, 0)
    assert logs == []


@root_only
def test_insecure_script_without_script_security_runs_with_a_warning(tmp_path: Path) -> None:
    path = script(secure_dir(tmp_path), 0o777)
    command, logs = prepare(str(path), None, None, GlobalDefs(script_user="root"))
    assert command.argv == (str(path),)
    assert [line.text for line in logs] == [f"Unsafe permissions found for script '{path}'."]


def test_bare_program_name_is_resolved_by_path_search_with_keepalived_warning() -> None:
    command, logs = prepare("true", None, None, SECURE)
    assert os.path.isabs(command.argv[0]) and command.argv[0].endswith("/true")
    assert logs[0].text == (f"WARNING - script `true` resolved by path search to `{command.argv[0]}`. "
                            "Please specify full path.")


def test_missing_script_is_refused() -> None:
    with pytest.raises(ScriptRefused) as err:
        prepare("/nonexistent/vrrptui-check --x", None, None, SECURE)
    assert str(err.value) == "Unable to access script `/nonexistent/vrrptui-check`"
    assert err.value.disabling("track script", "chk") == "Disabling track script chk since not found/accessible"


@pytest.mark.skipif(any(p.pw_name == "keepalived_script" for p in pwd.getpwall()),
                    reason="host has a keepalived_script user")
def test_script_security_without_a_script_user_refuses_like_keepalived() -> None:
    with pytest.raises(ScriptRefused) as err:
        prepare("/bin/true", None, None, GlobalDefs(enable_script_security=True))
    assert str(err.value) == "Script user 'keepalived_script' does not exist"
    assert err.value.disabling("track script", "chk") == "Unable to set default user for vrrp script chk - removing"


def test_script_runs_as_its_named_user() -> None:
    command, _ = prepare("/bin/true", "nobody", None, GlobalDefs())
    nobody = pwd.getpwnam("nobody")
    assert (command.uid, command.gid) == (nobody.pw_uid, nobody.pw_gid)


def test_unknown_script_user_is_refused() -> None:
    with pytest.raises(ScriptRefused) as err:
        prepare("/bin/true", "no-such-user-vrrptui", None, GlobalDefs())
    assert "no-such-user-vrrptui" in str(err.value)
