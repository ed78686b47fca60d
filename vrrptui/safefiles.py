"""Files written as root, without following symlinks (no vrrptui imports: any layer may use it).

vrrptui runs as root on a router; a symlink planted where it writes (a pcap in the working
directory, `--drills /tmp/x`, a dump in /tmp) would make it overwrite any file on the host.
Every write goes through one of these:

- `write_new(path, data)`: a file that must not exist yet (O_CREAT | O_EXCL | O_NOFOLLOW).
- `append(path, data)`: appends to a regular file, created 0600 if missing (O_NOFOLLOW; a FIFO,
  device or symlink is refused, nothing blocks).
- `replace(path, data)`: a fresh file beside `path` (O_EXCL), renamed over it: a symlink at
  `path` is replaced, never followed.
- `read_tail(path, limit)`: the last `limit` bytes of a regular file (O_NOFOLLOW | O_NONBLOCK: a
  symlink, FIFO or device is refused, nothing blocks, memory is bounded).
- `private_dir(path)`: a directory created 0700 if missing, refused unless it is a real
  directory of ours that nobody else may write to.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(OSError):
    """A path vrrptui will not write through (symlink, someone else's directory, not a regular file)."""


def private_dir(path: Path, mode: int = 0o700) -> Path:
    """`path` as a directory only we can write to, created (with its parents) if missing."""
    if not os.path.lexists(path):
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{path} is not a directory (a symlink or another file): remove it")
    if st.st_uid != os.geteuid():
        raise UnsafePath(f"{path} belongs to uid {st.st_uid}, not {os.geteuid()}: remove it or pick another")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafePath(f"{path} is writable by group or others: chmod go-w {path}")
    return path


def _refused(path: str | os.PathLike[str], exc: OSError) -> OSError:
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
        return UnsafePath(f"{path} is a symlink: not following it (remove it or write elsewhere)")
    return exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_new(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> None:
    """Create `path` with `data`; fails if anything (file or symlink) is already there."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
    except OSError as exc:
        raise _refused(path, exc) from None
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def append(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> None:
    """Append `data` to the regular file `path` (created with `mode` if missing)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | _NOFOLLOW, mode)
    except OSError as exc:
        raise _refused(path, exc) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePath(f"{path} is not a regular file: not writing to it")
        _write_all(fd, data)
    finally:
        os.close(fd)


def replace(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with a new file holding `data` (a symlink at `path` is replaced, its target untouched)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}")
    write_new(tmp, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_tail(path: str | os.PathLike[str], limit: int) -> bytes:
    """The last `limit` bytes of the regular file `path` (all of it when smaller); never through a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | _NOFOLLOW)
    except OSError as exc:
        raise _refused(path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath(f"{path} is not a regular file: not reading it")
        start = max(0, st.st_size - limit)
        chunks: list[bytes] = []
        left = limit
        while left > 0 and (chunk := os.pread(fd, left, start)):
            chunks.append(chunk)
            start += len(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
