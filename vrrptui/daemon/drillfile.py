"""The drills file: finished drills as JSON Lines, one object a line, appended as they end."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from vrrptui.records import Drill

ROOT_DRILLS_PATH = Path("/var/lib/vrrptui/drills.jsonl")


def default_drills_path(euid: int | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where drills go without --drills (append_drill creates the directory).

    As root (`sudo vrrptui`, the usual way on a router) /var/lib/vrrptui/drills.jsonl: the
    router's history, not root's home. Otherwise the XDG state directory:
    $XDG_STATE_HOME/vrrptui/drills.jsonl, else ~/.local/state/vrrptui/drills.jsonl.
    """
    if (os.geteuid() if euid is None else euid) == 0:
        return ROOT_DRILLS_PATH
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):  # XDG Base Directory: a relative path is invalid, ignore it
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base) / "vrrptui" / "drills.jsonl"


def append_drill(path: str | os.PathLike, drill: Drill) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("a", encoding="utf-8") as f:
        f.write(json.dumps(drill.to_json(), sort_keys=True) + "\n")


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
