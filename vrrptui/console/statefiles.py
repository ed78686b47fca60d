"""Where the console keeps what outlives it, and how it writes there without following symlinks.

    $STATE_DIR/vrrptui/<config-name>/events.jsonl   the event history (vrrptui.observe.history)
    $STATE_DIR/vrrptui/<config-name>/drills.jsonl   the drills, dated, for this config only
    $STATE_DIR/vrrptui/<config-name>/events-*.csv   exports of the event history (and .jsonl)

STATE_DIR is $VRRPTUI_STATE_DIR when set; as root (`sudo vrrptui`, the usual way on a router)
/var/lib; otherwise the XDG state directory ($XDG_STATE_HOME, else ~/.local/state).
Below STATE_DIR every directory and file is opened relative to its parent's descriptor with
O_NOFOLLOW, and created private (0700 / 0600): root never writes through a planted symlink.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from collections.abc import Iterable, Mapping

STATE_ENV = "VRRPTUI_STATE_DIR"
TAIL_BYTES = 4 << 20  # read at most this much of a history file at start-up
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def state_root(euid: int | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """STATE_DIR (module docstring)."""
    env = os.environ if environ is None else environ
    if env.get(STATE_ENV):
        return Path(env[STATE_ENV])
    if (os.geteuid() if euid is None else euid) == 0:
        return Path("/var/lib")
    base = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):  # XDG Base Directory: a relative path is invalid, ignore it
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base)


def config_name(config_path: str | os.PathLike[str]) -> str:
    """`/etc/keepalived/keepalived.conf` -> `keepalived`: the directory name for one config."""
    name = Path(config_path).name
    if name.endswith(".conf") and len(name) > 5:
        name = name[:-5]
    name = _UNSAFE.sub("_", name).lstrip(".")
    return name or "_"


class StateDir:
    """A directory `root/part/part...`: `root` is trusted as given, each part below it is created
    0700 and opened with O_NOFOLLOW, and so is every file in it."""

    def __init__(self, root: Path, *parts: str) -> None:
        self.root = root
        self.parts = parts

    @classmethod
    def for_config(cls, scope: str, euid: int | None = None, environ: Mapping[str, str] | None = None) -> StateDir:
        """STATE_DIR/vrrptui/<scope>: `scope` is config_name(...), or e.g. `sniff-eth0`."""
        return cls(state_root(euid, environ), "vrrptui", scope)

    @classmethod
    def for_file(cls, path: Path) -> tuple[StateDir, str]:
        """A file the operator named (--drills FILE): its directory is trusted, the file is not."""
        return cls(path.parent), path.name

    @property
    def path(self) -> Path:
        return self.root.joinpath(*self.parts)

    def _open(self, create: bool) -> int:
        if create:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in self.parts:
                if create:
                    try:
                        os.mkdir(part, 0o700, dir_fd=fd)
                    except FileExistsError:
                        pass
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _file(self, name: str, flags: int, create_dirs: bool) -> int:
        dfd = self._open(create_dirs)
        try:
            return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
        finally:
            os.close(dfd)

    def append(self, name: str, lines: Iterable[str]) -> None:
        """Append text lines to the file `name` (created 0600)."""
        data = "".join(line + "\n" for line in lines).encode()
        if data:
            with os.fdopen(self._file(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, True), "ab") as f:
                f.write(data)

    def write_new(self, name: str, data: str) -> Path:
        """Create the file `name` (0600) with `data`; refuses one that exists. Returns its path."""
        with os.fdopen(self._file(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, True), "w", encoding="utf-8") as f:
            f.write(data)
        return self.path / name

    def tail(self, name: str, limit: int) -> list[str]:
        """The last `limit` lines of the file `name`; [] when there is none yet."""
        try:
            fd = self._file(name, os.O_RDONLY, False)
        except FileNotFoundError:
            return []
        with os.fdopen(fd, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - TAIL_BYTES))
            lines = f.read().decode("utf-8", "replace").splitlines()
        if size > TAIL_BYTES:
            lines = lines[1:]  # the first one is cut
        return lines[-limit:]
