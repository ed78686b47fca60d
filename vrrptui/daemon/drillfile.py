"""The drills file: finished drills as JSON Lines, one object a line, appended as they end."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vrrptui import safefiles
from vrrptui.records import Drill


def append_drill(path: str | os.PathLike, drill: Drill) -> None:
    """Append to `path` (created 0600 with its directory), never through a symlink."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    safefiles.append(p, (json.dumps(drill.to_json(), sort_keys=True) + "\n").encode())  # a FIFO never blocks


def read_drills(path: str | os.PathLike) -> list[Drill]:
    """The drills recorded so far; lines that are not drills (hand edits, truncation) are skipped."""
    p = Path(path)
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            out.append(Drill(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return out


class DrillFile:
    """A DrillStore on a JSON Lines file (created with its directory on the first append)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def read(self) -> list[Drill]:
        return read_drills(self.path)

    def append(self, drill: Drill) -> None:
        append_drill(self.path, drill)
