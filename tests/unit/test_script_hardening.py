"""Scripts run as root cannot be swapped by another user, and what they start is bounded:
every path walked (symlink targets, `#!` interpreters, script arguments) is checked, users lose
the daemon's supplementary groups, timeouts kill the process group, orphans are reaped."""

from __future__ import annotations

import asyncio
import os
import pwd
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from vrrptui.config.model import GlobalDefs, TrackFileDef
from vrrptui.daemon import children
from vrrptui.daemon.notify import NotifyRunner
from vrrptui.daemon.notifyfifo import NotifyFifo
from vrrptui.daemon.trackfiles import init_file
from vrrptui.daemon.scriptsec import ScriptCommand, ScriptRefused, insecure_paths, prepare, walked_paths
from vrrptui.engine.outputs import LogLine

SECURE = GlobalDefs(enable_script_security=True, script_user="root")
ROOT = ScriptCommand("test", (), 0, 0)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ownership and user switching need root")


def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A root-only directory (like /usr/local/bin) and one another user owns (like /home/u)."""
    safe = tmp_path / "bin"
    safe.mkdir(mode=0o755)
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    nobody = pwd.getpwnam("nobody")
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    return safe, home


def write(path: Path, text: str, mode: int = 0o755) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_symlink_into_a_user_directory_is_refused(tmp_path: Path) -> None:
    safe, home = tree(tmp_path)
    target = write(home / "chk.sh", "#!/bin/sh\nexit 0\n")
    os.chown(target, 0, 0)  # the file itself is root's: only its directory is not
    link = safe / "chk"
    link.symlink_to(target)
    assert str(home) in walked_paths(str(link))
    with pytest.raises(ScriptRefused, match="Unsafe permissions"):
        prepare(str(link), None, None, SECURE)


def test_relative_symlink_chains_are_followed(tmp_path: Path) -> None:
    safe, home = tree(tmp_path)
    write(home / "x.sh", "#!/bin/sh\n")
    (safe / "a").symlink_to("b")
    (safe / "b").symlink_to("../home/x.sh")
    assert insecure_paths([str(safe / "a")]) == str(home)


def test_script_given_to_an_interpreter_is_checked(tmp_path: Path) -> None:
    _, home = tree(tmp_path)
    user_script = write(home / "x.sh", "id\n")
    os.chown(user_script, 0, 0)
    with pytest.raises(ScriptRefused, match="Unsafe permissions"):
        prepare(f"/bin/sh {user_script}", None, None, SECURE)


def test_a_script_argument_a_user_may_create_later_is_checked(tmp_path: Path) -> None:
    _, home = tree(tmp_path)
    with pytest.raises(ScriptRefused, match="Unsafe permissions"):
        prepare(f"/bin/sh {home / 'notyet.sh'}", None, None, SECURE)
    prepare(f"/bin/sh {tmp_path / 'nowhere' / 'x.sh'} /api/health", None, None, SECURE)  # no such directory


def test_shebang_interpreter_in_a_user_directory_is_refused(tmp_path: Path) -> None:
    safe, home = tree(tmp_path)
    write(home / "python", "#!/bin/sh\n")
    script = write(safe / "chk", f"#!{home / 'python'} -u\nexit 0\n")
    assert insecure_paths([str(script)]) == str(home)
    with pytest.raises(ScriptRefused):
        prepare(str(script), None, None, SECURE)


def test_dot_dot_after_a_symlink_is_walked_where_the_kernel_goes(tmp_path: Path) -> None:
    # safe/sub/lnk/../evil.sh is home/evil.sh: `..` leaves the link's target, not the link
    safe, home = tree(tmp_path)
    (safe / "sub").mkdir(mode=0o755)
    (home / "inner").mkdir()
    evil = write(home / "evil.sh", "#!/bin/sh\nid\n")
    os.chown(evil, 0, 0)
    (safe / "sub" / "lnk").symlink_to(home / "inner")
    path = f"{safe}/sub/lnk/../evil.sh"
    assert os.path.samefile(path, evil)
    assert str(home) in walked_paths(path)
    with pytest.raises(ScriptRefused, match="Unsafe permissions"):
        prepare(path, None, None, SECURE)


@pytest.mark.timeout(20)
def test_a_fifo_in_place_of_a_script_is_refused_without_being_opened(tmp_path: Path) -> None:
    # Opening a FIFO to read its `#!` line blocked the daemon's loop until someone wrote to it
    safe, _ = tree(tmp_path)
    fifo = safe / "chk"
    os.mkfifo(fifo, 0o755)
    with pytest.raises(ScriptRefused, match="not a regular file"):
        prepare(str(fifo), None, None, SECURE)
    assert insecure_paths(["/bin/sh", str(fifo)]) is None  # as an argument: not read either
    (safe / "link").symlink_to(fifo)
    with pytest.raises(ScriptRefused, match="not a regular file"):
        prepare(f"{safe / 'link'} arg", None, None, GlobalDefs(script_user="root"))


def test_only_zombies_outside_our_session_count_as_orphans() -> None:
    # /proc/PID/stat after the name: state, ppid, pgrp, session, tty. The tty (0) was read as the session, so a
    # command the daemon waits for itself was reaped under it and its exit status lost (wait() gave 0).
    ours = subprocess.Popen(["sh", "-c", "exit 3"])
    script = subprocess.Popen(["sh", "-c", "exit 3"], start_new_session=True)
    try:
        session = os.getsid(0)
        for proc in (ours, script):
            assert _wait(lambda p=proc: Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
        assert not children._exited_elsewhere(ours.pid, session)
        assert children._exited_elsewhere(script.pid, session)
    finally:
        assert ours.wait() == 3 and script.wait() == 3


def test_files_root_creates_are_not_written_below_a_directory_a_user_may_change(tmp_path: Path) -> None:
    # O_NOFOLLOW guards the last component: a user owning `home` made `home/sub` a symlink to a root
    # directory, and `init_file 0 overwrite` replaced root's file there
    safe, home = tree(tmp_path)
    victim = write(safe / "val", "precious\n", 0o644)
    (home / "sub").symlink_to(safe)
    path = str(home / "sub" / "val")
    with pytest.raises(OSError, match="may be changed by a user other than root"):
        init_file(TrackFileDef("tf", path, init_value=0, overwrite=True))
    with pytest.raises(OSError, match="may be changed by a user other than root"):
        NotifyFifo(str(home / "sub" / "fifo"), lambda line: None)
    assert victim.read_text() == "precious\n" and not (safe / "fifo").exists()
    init_file(TrackFileDef("tf", str(safe / "new"), init_value=0))  # root's own directory: fine
    assert (safe / "new").read_text() == "0\n"
    init_file(TrackFileDef("tf", str(home / "state"), init_value=0))  # an application's own directory: fine
    assert (home / "state").read_text() == "0\n"


def _acl(path: Path, *entries: tuple[int, int, int]) -> None:
    """An access ACL as `setfacl` writes it: user::rwx, (entries), group::r-x, mask::rwx, other::r-x."""
    anyone = 0xFFFFFFFF
    everything = sorted([(0x01, 7, anyone), *entries, (0x04, 5, anyone), (0x10, 7, anyone), (0x20, 5, anyone)],
                        key=lambda e: (e[0], e[2]))  # the kernel wants them in tag order
    os.setxattr(path, "system.posix_acl_access",
                struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in everything))


def test_a_directory_a_user_may_write_through_an_acl_is_unsafe(tmp_path: Path) -> None:
    # `setfacl -m u:nobody:rwx bin`: the mode still reads root:root 0775 (the group bits are the mask)
    safe, _ = tree(tmp_path)
    script = write(safe / "chk", "#!/bin/sh\nexit 0\n")
    assert insecure_paths([str(script)]) is None
    _acl(safe, (0x02, 7, pwd.getpwnam("nobody").pw_uid))
    assert insecure_paths([str(script)]) == str(safe)
    with pytest.raises(ScriptRefused, match="Unsafe permissions"):
        prepare(str(script), None, None, SECURE)
    _acl(safe, (0x08, 7, 0), (0x02, 5, pwd.getpwnam("nobody").pw_uid))  # root's group, or read-only: fine
    assert insecure_paths([str(script)]) is None


def test_a_safe_script_still_runs(tmp_path: Path) -> None:
    safe, _ = tree(tmp_path)
    script = write(safe / "chk", "#!/bin/sh\nexit 0\n")
    command, _ = prepare(f"/bin/sh {script} --flag", None, None, SECURE)
    assert command.argv == ("/bin/sh", str(script), "--flag")


def test_a_script_run_as_a_user_loses_the_daemons_supplementary_groups() -> None:
    nobody = pwd.getpwnam("nobody")
    with tempfile.TemporaryDirectory(dir="/tmp") as where:  # a place nobody can write to
        os.chmod(where, 0o777)
        out = Path(where) / "groups"
        command = ScriptCommand("id", (), nobody.pw_uid, nobody.pw_gid)
        before = os.getgroups()
        os.setgroups([0, 4])  # as a daemon started by a root shell: root, adm
        try:
            status = asyncio.run(children.run(command, ("/bin/sh", "-c", f"id -G > {out}"), 10.0))
        finally:
            os.setgroups(before)
        assert status == 0
        assert out.read_text().split() == [str(nobody.pw_gid)]


def _gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"

    async def main() -> int | None:
        return await children.run(ROOT, ("/bin/sh", "-c", f"sleep 30 & echo $! > {pidfile}; sleep 30"), 0.5)

    assert asyncio.run(main()) is None
    child = int(pidfile.read_text())
    assert _wait(lambda: not Path(f"/proc/{child}").exists() or _zombie(child))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _wait(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_notify_scripts_still_running_at_stop_are_killed_with_their_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    lines: list[LogLine] = []

    async def main() -> None:
        runner = NotifyRunner(lines.append)
        runner._launch(ROOT, ("/bin/sh", "-c", f"echo $$ > {pidfile}; sleep 30"))
        await asyncio.sleep(0.5)
        await runner.drain(timeout=0.2)

    asyncio.run(main())
    pgid = int(pidfile.read_text())
    assert _wait(lambda: _gone(pgid))


def test_notify_timeout_is_60_seconds() -> None:
    assert children.NOTIFY_TIMEOUT == 60.0
