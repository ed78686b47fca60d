"""Running external scripts the way keepalived does: command splitting, user, security check.

Shared by the vrrp_script runner (scripts.py) and the notify runner (notify.py).
keepalived's rules (lib/notify.c, learned from its behaviour, not copied):
- the script string is a command line; the first word is the program;
- with `enable_script_security`, a script run as root is refused when the program or any
  directory above it is owned by a non-root user, or is writable by a non-root group or
  by everyone (a sticky directory such as /tmp is fine);
- scripts run as `script_user` (global_defs) unless the script names its own `user`;
  keepalived's default is the user `keepalived_script` when it exists, else root.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import shlex
import shutil
import stat
from dataclasses import dataclass
from struct import Struct

from vrrptui.config.model import GlobalDefs
from vrrptui.engine.outputs import LogLine

DEFAULT_SCRIPT_USER = "keepalived_script"


@dataclass(frozen=True, slots=True)
class ScriptCommand:
    """A script ready to run: argv (program resolved to a path), uid and gid."""

    text: str  # as written in the config
    argv: tuple[str, ...]
    uid: int
    gid: int


def split_command(text: str) -> list[str]:
    """keepalived's quoting is close to a shell's word splitting without expansion."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def resolve_user(user: str | None, group: str | None, global_defs: GlobalDefs) -> tuple[int, int, list[LogLine]]:
    """(uid, gid, log lines) for a script's `user [group]`, else script_user, else the default.

    Raises LookupError with a user-facing message when a named user or group does not exist.
    """
    logs: list[LogLine] = []
    name, gname = user, group
    if name is None and global_defs.script_user:
        name, gname = global_defs.script_user, global_defs.script_group
    if name is None:
        try:
            entry = pwd.getpwnam(DEFAULT_SCRIPT_USER)
        except KeyError:
            if global_defs.enable_script_security:
                # keepalived refuses to fall back to root when script security is on
                raise LookupError(f"Script user '{DEFAULT_SCRIPT_USER}' does not exist") from None
            return 0, 0, logs
        return entry.pw_uid, entry.pw_gid, logs
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise LookupError(f"script user '{name}' does not exist on this host") from None
    gid = entry.pw_gid
    if gname:
        try:
            gid = grp.getgrnam(gname).gr_gid
        except KeyError:
            raise LookupError(f"script group '{gname}' does not exist on this host") from None
    return entry.pw_uid, gid, logs


def _is_executable_by(st: os.stat_result, uid: int, gid: int) -> bool:
    if uid == 0:
        return bool(st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    if uid == st.st_uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if gid == st.st_gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


MAX_SYMLINKS = 40  # as the kernel's path walk


def _unsafe(st: os.stat_result, path: str) -> bool:
    """Could a non-root user change what this path component (lstat) runs?"""
    if st.st_uid != 0:
        return True
    if stat.S_ISLNK(st.st_mode):
        return False  # a symlink's own mode means nothing; its directory and its target are checked
    sticky_dir = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
    if sticky_dir:
        return False
    group_writable = st.st_gid != 0 and st.st_mode & stat.S_IWGRP
    return bool(group_writable or st.st_mode & stat.S_IWOTH) or _acl_lets_others_write(path)


_ACL_USER, _ACL_GROUP, _ACL_MASK = 0x02, 0x08, 0x10  # POSIX ACL entry tags (linux/posix_acl_xattr.h)
_ACL_ENTRY = Struct("<HHI")  # tag, permissions, user or group id; after a 4-byte version header


def _acl_lets_others_write(path: str) -> bool:
    """An access ACL that gives a user or group other than root write access (`setfacl -m u:alice:rwx`): the
    mode bits do not show it (the group bits are the ACL's mask; the owning group may well be root's)."""
    try:
        data = os.getxattr(path, "system.posix_acl_access", follow_symlinks=False)
    except OSError:
        return False  # no ACL (or none supported here)
    entries = [_ACL_ENTRY.unpack_from(data, at) for at in range(4, len(data) - _ACL_ENTRY.size + 1, _ACL_ENTRY.size)]
    mask = next((perm for tag, perm, _ in entries if tag == _ACL_MASK), 0o7)
    return any(tag in (_ACL_USER, _ACL_GROUP) and who != 0 and perm & mask & 0o2 for tag, perm, who in entries)


def walked_paths(path: str) -> list[str]:
    """Every path the kernel looks at to reach `path`: `/`, each directory, each symlink and the
    directories of its target, and the final file (what anyone who may change one may swap)."""
    seen = ["/"]
    # not abspath(): it folds `link/..` as text, where the kernel goes to the parent of the link's target
    pending = (path if path.startswith("/") else f"{os.getcwd()}/{path}").split("/")[1:]
    current = "/"
    links = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        step = os.path.join(current, part)
        seen.append(step)
        if os.path.islink(step):
            links += 1
            if links > MAX_SYMLINKS:
                break
            target = os.readlink(step)
            pending = target.split("/") + pending
            current = "/" if target.startswith("/") else current
            continue
        current = step
    return seen


def _first_unsafe(paths: list[str]) -> str | None:
    """The first of `paths` (as walked_paths lists them) a non-root user could change; None if none is, or
    when one is missing (nothing is there to run or write through)."""
    for path in paths:
        try:
            if _unsafe(os.lstat(path), path):
                return path
        except OSError:
            return None
    return None


def insecure_component(program: str) -> str | None:
    """The first path walked to `program` (its symlinks' targets too) that a non-root user could change."""
    return _first_unsafe(walked_paths(program))


def check_directory_of(path: str) -> None:
    """Raise OSError when a user other than root could change which directory a file at `path` lands in: a
    directory above it, a symlink on the way or its target's directories. The file's own directory may be a
    user's (an application's state directory): the file is opened O_NOFOLLOW or replaced by rename, so only
    a directory above it could be swapped for a symlink."""
    bad = _first_unsafe(walked_paths(os.path.dirname(path) or ".")[:-1])
    if bad is not None:
        raise OSError(errno.EPERM, f"{bad} may be changed by a user other than root: not writing below it as root")


def _interpreter(program: str) -> str | None:
    """The `#!` interpreter of a script, if `program` is a regular file that starts with one. Anything else is
    never opened (a FIFO would block the daemon until someone writes to it; a device may act on an open)."""
    try:
        if not stat.S_ISREG(os.stat(program).st_mode):
            return None
        fd = os.open(program, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the stat
            return None
        head = os.read(fd, 256)
    except OSError:
        return None
    finally:
        os.close(fd)
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].split()
    return os.fsdecode(words[0]) if words else None


def insecure_paths(argv: list[str]) -> str | None:
    """The first thing a non-root user could change in what `argv` runs: the program, the interpreter
    of its `#!` line, and every argument naming a file (`/bin/sh /path/x.sh` runs x.sh): an existing one,
    or an absolute path whose directory exists (whoever may write there can create it later)."""
    candidates: list[str] = []
    names_a_file = [a for a in argv[1:] if "/" in a and (os.path.isfile(a) or (
        a.startswith("/") and not os.path.lexists(a) and os.path.isdir(os.path.dirname(a))))]
    for path in [argv[0], *names_a_file]:
        candidates.append(path)
        interpreter = _interpreter(path)
        if interpreter is not None:
            candidates.append(interpreter)
    for path in candidates:
        bad = insecure_component(path)
        if bad is not None:
            return bad
    return None


class ScriptRefused(Exception):
    """The script must not run; the message is keepalived's wording for the reason.

    `kind`: "insecure", "user" (no usable script user) or "missing" (not found / not accessible).
    """

    def __init__(self, message: str, kind: str = "missing") -> None:
        super().__init__(message)
        self.kind = kind

    def disabling(self, what: str, name: str) -> str:
        """keepalived's follow-up line, e.g. "Disabling track script chk due to insecure"."""
        if self.kind == "insecure":
            return f"Disabling {what} {name} due to insecure"
        if self.kind == "user":
            return f"Unable to set default user for {what.replace('track', 'vrrp')} {name} - removing"
        return f"Disabling {what} {name} since not found/accessible"


def prepare(text: str, user: str | None, group: str | None, global_defs: GlobalDefs) -> tuple[ScriptCommand,
                                                                                              list[LogLine]]:
    """Resolve and check a script; raise ScriptRefused (already worded for the log) if it must not run."""
    argv = split_command(text)
    if not argv:
        raise ScriptRefused("empty script")
    try:
        uid, gid, logs = resolve_user(user, group, global_defs)
    except LookupError as exc:
        raise ScriptRefused(str(exc), "user") from None
    program = argv[0]
    if "/" not in program:
        found = shutil.which(program)
        if found is None:
            raise ScriptRefused(f"Cannot find script {program} in path")
        logs.append(
            LogLine(f"WARNING - script `{program}` resolved by path search to `{found}`. Please specify full path.")
        )
        program = found
    try:
        st = os.stat(program)
    except (OSError, ValueError):  # ValueError: a NUL in the path (the config reader refuses it first)
        raise ScriptRefused(f"Unable to access script `{program}`") from None
    if not stat.S_ISREG(st.st_mode):  # keepalived's exec fails (EACCES); checking it must not open it either
        raise ScriptRefused(f"script `{program}` is not a regular file")
    if not _is_executable_by(st, uid, gid):
        logs.append(LogLine(f"WARNING - script '{program}' is not executable for uid:gid {uid}:{gid}. Please fix."))
    elif uid == 0 or gid == 0:
        bad = insecure_paths([program, *argv[1:]])
        if bad is not None and global_defs.enable_script_security:
            raise ScriptRefused(f"Unsafe permissions found for script '{program}' - disabling.", "insecure")
        if bad is not None:
            logs.append(LogLine(f"Unsafe permissions found for script '{program}'."))
    return ScriptCommand(text, (program, *argv[1:]), uid, gid), logs
