"""Pid files that are also locks: a second daemon on the same pid file or config is refused.

Like keepalived's pid files, with a lock: the file is opened without following a symlink
(O_NOFOLLOW), must be a regular file with one link, and is held with flock() for the
daemon's whole life. A second daemon finds the lock taken and refuses to start, naming
the pid written in the file. The lock lives on the open file description, so it survives
the forks of daemonize() and goes away with the process, whatever way it ends.

Besides the pid files given with -p/-r, every daemon holds an implicit one keyed by its
network namespace and the config file's real path, so two daemons on the same config in
the same namespace are refused even when nobody passed -p (issue: both became MASTER).

A daemon restarted after kill -9 takes the config's lock before site and os are imported
(daemon/stale.py), so what that needs uses posix (os's C half) and _stat alone; the rest imports
os where it is used.
"""

import _stat  # stat.py's C half
import fcntl
import posix
import sys

TYPE_CHECKING = False  # neither typing nor pathlib before a restart's clean-up (daemon/stale.py); mypy reads True
if TYPE_CHECKING:
    from pathlib import Path

try:  # the builtin SHA-256, as `random` does: hashlib would load OpenSSL's libcrypto (~3.6 MB of RSS) for one digest
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # Python 3.12+
    from hashlib import sha256


class PidFileError(Exception):
    """Refuse to start; str() is the message for the operator."""


class PidFile:
    """An flock()ed pid file. `acquire()` raises PidFileError; `write()` after a fork."""

    def __init__(self, path: "str | Path", what: str = "pid file") -> None:
        self.path = path
        self.what = what
        self.fd: int | None = None
        self._ino: tuple[int, int] | None = None

    def acquire(self, wait: float = 0.0) -> None:
        """flock() it, or PidFileError; tried again every 2 ms for WAIT seconds (a killed daemon's guardian
        holds the config's lock for a few milliseconds while it resigns for it)."""
        import time  # built in: stale.py's early clean-up stays light

        deadline = time.monotonic() + wait
        while True:
            try:
                return self._try_acquire()
            except PidFileError:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(0.002)

    def _try_acquire(self) -> None:
        flags = posix.O_RDWR | posix.O_CREAT | posix.O_NOFOLLOW | posix.O_CLOEXEC | posix.O_NOCTTY
        try:
            fd = posix.open(self.path, flags, 0o644)
        except OSError as exc:
            hint = " (a symlink: remove it)" if _is_link(self.path) else ""
            raise PidFileError(f"vrrptui: cannot open {self.what} {self.path}: {exc.strerror or exc}{hint}") from None
        try:
            st = posix.fstat(fd)
            if not _stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                raise PidFileError(f"vrrptui: {self.what} {self.path} is not a plain file with a single link; "
                                   f"remove it and start again")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = _read_pid(fd)
                who = f"pid {other}" if other else "another process"
                raise PidFileError(f"vrrptui: another vrrptui ({who}) already runs with {self.what} {self.path}; "
                                   f"stop it first (kill -TERM {other or 'PID'}), or give this one its own "
                                   f"config / -p PIDFILE") from None
        except BaseException:
            posix.close(fd)
            raise
        self.fd = fd
        self._ino = (st.st_dev, st.st_ino)
        self.write()

    def write(self) -> None:
        """(Re)write our pid: after daemonize() the pid is the grandchild's."""
        if self.fd is None:
            return
        data = f"{posix.getpid()}\n".encode()
        posix.ftruncate(self.fd, 0)
        posix.pwrite(self.fd, data, 0)

    def release(self) -> None:
        """Remove the file if it is still ours, then drop the lock."""
        if self.fd is None:
            return
        try:
            st = posix.lstat(self.path)
            if (st.st_dev, st.st_ino) == self._ino:
                posix.unlink(self.path)
        except OSError:
            pass
        posix.close(self.fd)
        self.fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = posix.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


DEFAULT_DIR = "/run/vrrptui"


def _is_link(path: "str | Path") -> bool:
    try:
        return _stat.S_ISLNK(posix.lstat(path).st_mode)
    except OSError:
        return False


def runtime_dir_name() -> str:
    """Where pid files, control sockets and the VIP journal live ($VRRPTUI_RUNTIME_DIR, else /run/vrrptui)."""
    return _getenv("VRRPTUI_RUNTIME_DIR") or DEFAULT_DIR


def _getenv(name: str) -> str | None:
    """os.environ.get(NAME), before os is imported too: posix.environ is the environment the process
    started with (bytes), which only os.environ's writes change."""
    os = sys.modules.get("os")
    if os is not None:
        return os.environ.get(name)
    value = posix.environ.get(name.encode())
    return None if value is None else value.decode(sys.getfilesystemencoding(), "surrogateescape")


def runtime_dir() -> "Path":
    from pathlib import Path

    return Path(runtime_dir_name())


def config_lock_name(config_path: str) -> str:
    """The implicit pid file's name (in the runtime directory) of a daemon running CONFIG_PATH in this
    network namespace: `net<namespace inode>-<hash of the config's real path>.pid`."""
    try:
        namespace = f"net{posix.stat('/proc/self/ns/net').st_ino}"
    except OSError:
        namespace = "net"
    digest = sha256(_realpath(config_path).encode()).hexdigest()[:16]
    return f"{namespace}-{digest}.pid"


def _realpath(path: str) -> str:
    """os.path.realpath(PATH): for a file that exists, the kernel's own answer (the file opened with O_PATH,
    which reads nothing and never blocks, and its /proc/self/fd link read), which needs no os."""
    try:
        fd = posix.open(path, posix.O_PATH | posix.O_CLOEXEC)
    except (OSError, ValueError):
        fd = -1
    if fd >= 0:
        try:
            real = posix.readlink(f"/proc/self/fd/{fd}")
            if real.startswith("/") and not real.endswith(" (deleted)"):
                return real
        except OSError:
            pass
        finally:
            posix.close(fd)
    import os.path

    return os.path.realpath(path)


def config_lock_path(runtime_dir: "Path", config_path: str) -> "Path":
    """The implicit pid file of a daemon running CONFIG_PATH in this network namespace."""
    return runtime_dir / config_lock_name(config_path)


class UnsafeDirectory(OSError):
    """The runtime directory could let another user at the control socket, the locks or the VIP journal."""


def check_directory(directory: "str | Path") -> None:
    """Refuse `directory` unless it is a real directory owned by us (root) and writable by nobody else."""
    try:
        st = posix.lstat(directory)
    except FileNotFoundError:
        raise UnsafeDirectory(f"{directory} does not exist") from None
    if _stat.S_ISLNK(st.st_mode) or not _stat.S_ISDIR(st.st_mode):
        raise UnsafeDirectory(f"{directory} is not a directory (a symlink or other file): remove it")
    if st.st_uid not in (0, posix.geteuid()):  # root's is trusted by anyone (`vrrptui status` as a user)
        raise UnsafeDirectory(f"{directory} is owned by uid {st.st_uid}, not {posix.geteuid()}: "
                              "remove it or set VRRPTUI_RUNTIME_DIR to a directory of ours")
    if st.st_mode & (_stat.S_IWGRP | _stat.S_IWOTH):
        raise UnsafeDirectory(f"{directory} is writable by group or others (mode {_stat.S_IMODE(st.st_mode):o}): "
                              f"chmod go-w {directory}")


def prepare_directory(directory: "str | Path") -> None:
    """Create `directory` (0755, parents as needed) if missing, then check it."""
    import os

    missing: list[str] = []
    path = os.path.abspath(directory)
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):  # each 0755 whatever the umask (os.makedirs gives parents 0777 & ~umask)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            pass  # made meanwhile: checked below like any other
    check_directory(directory)


def config_claim(config_path: str) -> PidFile:
    """The implicit pid file of a vrrptui running CONFIG_PATH here (daemon or console's worker)."""
    directory = runtime_dir()
    try:
        prepare_directory(directory)  # the lock is as safe as the control socket beside it
    except UnsafeDirectory as exc:
        raise PidFileError(f"vrrptui: unsafe runtime directory: {exc}") from None
    return PidFile(config_lock_path(directory, config_path), f"config {config_path} in this network namespace")


class PidFiles:
    """The daemon's pid files: the implicit per-config one, then -p and -r if given."""

    def __init__(self, files: list[PidFile]) -> None:
        self.files = files

    def acquire(self, wait: float = 0.0) -> None:
        """All of them, or PidFileError (each tried for WAIT seconds: PidFile.acquire)."""
        taken: list[PidFile] = []
        try:
            for f in self.files:
                f.acquire(wait)
                taken.append(f)
        except PidFileError:
            for f in taken:
                f.release()
            raise

    def write(self) -> None:
        for f in self.files:
            f.write()

    def release(self) -> None:
        for f in reversed(self.files):
            f.release()
