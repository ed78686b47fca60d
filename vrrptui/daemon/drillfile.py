"""The drills file: finished drills as JSON Lines, one object a line, appended as they end."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import get_args, get_type_hints

from vrrptui import safefiles
from vrrptui.records import Drill


def append_drill(path: str | os.PathLike, drill: Drill) -> None:
    """Append to `path` (created 0600 with its directory), never through a symlink."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    safefiles.append(p, (json.dumps(drill.to_json(), sort_keys=True) + "\n").encode())  # a FIFO never blocks


MAX_READ = 4 * 1024 * 1024  # the newest drills: a file grown beyond this is read from its last 4 MiB


def _fits(value: object, kind: object) -> bool:
    allowed = get_args(kind) or (kind,)
    if value is None:
        return type(None) in allowed
    if isinstance(value, bool):  # JSON true is not a number
        return bool in allowed
    if isinstance(value, int) and float in allowed:
        return True
    return any(isinstance(value, t) for t in allowed if isinstance(t, type))


_FIELDS = get_type_hints(Drill)


def _drill(line: bytes) -> Drill | None:
    try:
        data = json.loads(line)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError among them
        return None
    if not isinstance(data, dict) or not all(k in _FIELDS and _fits(v, _FIELDS[k]) for k, v in data.items()):
        return None
    try:
        return Drill(**data)
    except TypeError:  # a field missing
        return None


def read_drills(path: str | os.PathLike) -> list[Drill]:
    """The drills recorded so far (the newest MAX_READ bytes); lines that are not drills (hand edits,
    truncation, a value of the wrong type) are skipped. A missing file, a symlink, FIFO or device: none."""
    try:
        data = safefiles.read_tail(path, MAX_READ + 1)
    except OSError:
        return []
    lines = data.split(b"\n")
    if len(data) > MAX_READ:
        lines = lines[1:]  # the first is cut short
    return [d for line in lines if line.strip() and (d := _drill(line)) is not None]


class DrillFile:
    """A DrillStore on a JSON Lines file (created with its directory on the first append)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def read(self) -> list[Drill]:
        return read_drills(self.path)

    def append(self, drill: Drill) -> None:
        append_drill(self.path, drill)
