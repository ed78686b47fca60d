"""track_file: each tracked file is read at start-up and whenever it changes, its number fed to the engine.

The files are polled (inode, size, mtime) every POLL seconds: a handful of stat() calls, and no
inotify watch to lose when an editor replaces the file. `init_file` writes its value at start-up
when the file is missing (or always, with `overwrite`), never through a symlink. A missing or
unreadable file, or one that holds no number, counts as 0 (keepalived reads it with strtol).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from vrrptui import safefiles
from vrrptui.config.model import Config, TrackFileDef
from vrrptui.daemon.scriptsec import check_directory_of
from vrrptui.engine.outputs import LogLine

POLL = 0.1  # seconds between checks of the tracked files
MAX_READ = 4096

LogFn = Callable[[LogLine], None]
ValueFn = Callable[[str, int], None]  # (track_file name, value)


def read_value(path: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError):  # ValueError: a NUL in the path (the config reader refuses it first)
        return 0
    try:
        text = os.read(fd, MAX_READ).decode("ascii", errors="replace")
    except OSError:
        return 0
    finally:
        os.close(fd)
    words = text.split()
    try:
        return int(words[0]) if words else 0
    except ValueError:
        return 0


def init_file(definition: TrackFileDef) -> None:
    if definition.init_value is None:
        return
    check_directory_of(definition.path)  # O_NOFOLLOW guards the last component only
    data = f"{definition.init_value}\n".encode()
    if definition.overwrite:
        safefiles.replace(definition.path, data, 0o644)
        return
    try:
        safefiles.write_new(definition.path, data, 0o644)
    except FileExistsError:
        pass  # there already, and no `overwrite`


def _signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class FileWatch:
    def __init__(self, on_value: ValueFn, log: LogFn) -> None:
        self._on_value = on_value
        self._log = log
        self._defs: dict[str, TrackFileDef] = {}
        self._seen: dict[str, tuple[tuple[int, int, int] | None, int]] = {}  # name -> (signature, value)
        self._handle: asyncio.TimerHandle | None = None

    def start(self, config: Config, loop: asyncio.AbstractEventLoop) -> None:
        self.replace(config)
        self._handle = loop.call_later(POLL, self._poll, loop)

    def replace(self, config: Config) -> None:
        """The track_files of (a new) `config`: initialised if asked, read, and their values sent."""
        self._defs = {d.name: d for d in config.track_files}
        self._seen = {name: seen for name, seen in self._seen.items() if name in self._defs}
        for definition in self._defs.values():
            try:
                init_file(definition)
            except OSError as exc:
                self._log(LogLine(f"Unable to initialise track file {definition.name} ({definition.path}): "
                                  f"{exc.strerror or exc}", level="error"))
            self._check(definition, force=definition.name not in self._seen)

    def _check(self, definition: TrackFileDef, force: bool = False) -> None:
        signature = _signature(definition.path)
        before = self._seen.get(definition.name)
        if not force and before is not None and before[0] == signature:
            return
        value = read_value(definition.path)
        self._seen[definition.name] = (signature, value)
        if force or before is None or before[1] != value:
            self._on_value(definition.name, value)

    def _poll(self, loop: asyncio.AbstractEventLoop) -> None:
        for definition in self._defs.values():
            self._check(definition)
        self._handle = loop.call_later(POLL, self._poll, loop)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
