"""Pid files that are also locks: a second daemon on the same pid file or config is refused.

Like keepalived's pid files, with a lock: the file is opened without following a symlink
(O_NOFOLLOW), must be a regular file with one link, and is held with flock() for the
daemon's whole life. A second daemon finds the lock taken and refuses to start, naming
the pid written in the file. The lock lives on the open file description, so it survives
the forks of daemonize() and goes away with the process, whatever way it ends.

Besides the pid files given with -p/-r, every daemon holds an implicit one keyed by its
network namespace and the config file's real path, so two daemons on the same config in
the same namespace are refused even when nobody passed -p (issue: both became MASTER).
"""

import fcntl
import os
import stat

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
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            hint = " (a symlink: remove it)" if os.path.islink(self.path) else ""
            raise PidFileError(f"vrrptui: cannot open {self.what} {self.path}: {exc.strerror or exc}{hint}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
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
            os.close(fd)
            raise
        self.fd = fd
        self._ino = (st.st_dev, st.st_ino)
        self.write()

    def write(self) -> None:
        """(Re)write our pid: after daemonize() the pid is the grandchild's."""
        if self.fd is None:
            return
        data = f"{os.getpid()}\n".encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def release(self) -> None:
        """Remove the file if it is still ours, then drop the lock."""
        if self.fd is None:
            return
        try:
            st = os.stat(self.path, follow_symlinks=False)
            if (st.st_dev, st.st_ino) == self._ino:
                os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


DEFAULT_DIR = "/run/vrrptui"


def runtime_dir_name() -> str:
    """Where pid files, control sockets and the VIP journal live ($VRRPTUI_RUNTIME_DIR, else /run/vrrptui)."""
    return os.environ.get("VRRPTUI_RUNTIME_DIR") or DEFAULT_DIR


def runtime_dir() -> "Path":
    from pathlib import Path

    return Path(runtime_dir_name())


def config_lock_name(config_path: str) -> str:
    """The implicit pid file's name (in the runtime directory) of a daemon running CONFIG_PATH in this
    network namespace: `net<namespace inode>-<hash of the config's real path>.pid`."""
    try:
        namespace = f"net{os.stat('/proc/self/ns/net').st_ino}"
    except OSError:
        namespace = "net"
    digest = sha256(os.path.realpath(config_path).encode()).hexdigest()[:16]
    return f"{namespace}-{digest}.pid"


def config_lock_path(runtime_dir: "Path", config_path: str) -> "Path":
    """The implicit pid file of a daemon running CONFIG_PATH in this network namespace."""
    return runtime_dir / config_lock_name(config_path)


class UnsafeDirectory(OSError):
    """The runtime directory could let another user at the control socket, the locks or the VIP journal."""


def check_directory(directory: "str | Path") -> None:
    """Refuse `directory` unless it is a real directory owned by us (root) and writable by nobody else."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        raise UnsafeDirectory(f"{directory} does not exist") from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeDirectory(f"{directory} is not a directory (a symlink or other file): remove it")
    if st.st_uid not in (0, os.geteuid()):  # root's is trusted by anyone (`vrrptui status` as a user)
        raise UnsafeDirectory(f"{directory} is owned by uid {st.st_uid}, not {os.geteuid()}: "
                              "remove it or set VRRPTUI_RUNTIME_DIR to a directory of ours")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeDirectory(f"{directory} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}): "
                              f"chmod go-w {directory}")


def prepare_directory(directory: "str | Path") -> None:
    """Create `directory` (0755, parents as needed) if missing, then check it."""
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
