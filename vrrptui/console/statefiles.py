"""Where the console keeps what outlives it, and how it writes there without following symlinks.

    $STATE_DIR/vrrptui/<config-name>/events.jsonl   the event history (vrrptui.observe.history)
    $STATE_DIR/vrrptui/<config-name>/drills.jsonl   the drills, dated, for this config only
    $STATE_DIR/vrrptui/<config-name>/events-*.csv   exports of the event history (and .jsonl)

STATE_DIR is $VRRPTUI_STATE_DIR when set; as root (`sudo vrrptui`, the usual way on a router)
/var/lib; otherwise the XDG state directory ($XDG_STATE_HOME, else ~/.local/state).
Below STATE_DIR every directory is ours and private (0700) and every file is created 0600 and
opened without following symlinks (vrrptui.safefiles): root never writes through a planted one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from collections.abc import Iterable, Mapping

from vrrptui import safefiles

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
    """A directory `root/part/part...`: `root` is trusted as given, each part below it is a private
    directory of ours (created 0700), and its files are never opened through a symlink."""

    def __init__(self, root: Path, *parts: str) -> None:
        self.root = root
        self.parts = parts

    @classmethod
    def for_config(cls, scope: str, euid: int | None = None, environ: Mapping[str, str] | None = None) -> StateDir:
        """STATE_DIR/vrrptui/<scope>: `scope` is config_name(...), or e.g. `sniff-eth0`."""
        return cls(state_root(euid, environ), "vrrptui", scope)

    @property
    def path(self) -> Path:
        return self.root.joinpath(*self.parts)

    def _private(self) -> Path:
        """Each part below `root` a directory of ours, 0700, not a symlink (vrrptui.safefiles)."""
        path = self.root
        for part in self.parts:
            path = safefiles.private_dir(path / part)
        return path

    def append(self, name: str, lines: Iterable[str]) -> None:
        """Append text lines to the file `name` (created 0600)."""
        data = "".join(line + "\n" for line in lines).encode()
        if data:
            safefiles.append(self._private() / name, data)

    def write_new(self, name: str, data: str) -> Path:
        """Create the file `name` (0600) with `data`; refuses one that exists. Returns its path."""
        path = self._private() / name
        safefiles.write_new(path, data.encode())
        return path

    def tail(self, name: str, limit: int) -> list[str]:
        """The last `limit` lines of the file `name`; [] when there is none yet."""
        try:
            fd = os.open(self.path / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return []
        with os.fdopen(fd, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - TAIL_BYTES))
            lines = f.read().decode("utf-8", "replace").splitlines()
        if size > TAIL_BYTES:
            lines = lines[1:]  # the first one is cut
        return lines[-limit:]
