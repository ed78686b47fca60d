"""A vrrp_instance while it is read: what the keyword handlers fill in, and their signature."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from vrrptui.config.blocks import Statement
from vrrptui.config.model import TrackFile
from vrrptui.config.values import Reporter


@dataclass
class InstanceDraft:
    name: str
    statement: Statement
    fields: dict[str, Any] = field(default_factory=dict)  # VrrpInstance keyword arguments
    where: dict[str, Statement] = field(default_factory=dict)  # keyword -> statement, for later diagnostics
    state_given: bool = False
    advert_int: float | None = None
    track_script_lines: list[Statement] = field(default_factory=list)  # parallel to fields["track_scripts"]
    track_interface_lines: list[Statement] = field(default_factory=list)
    # track_file entries (tracker, weight given on the line, line): weights resolved once track_files are known
    track_file_entries: list[tuple[TrackFile, bool, Statement]] = field(default_factory=list)
    # track_process entries (name, (weight, reverse) given on the line, line)
    track_process_entries: list[tuple[str, tuple[int, bool] | None, Statement]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # keywords present, even with a bad value

    def set(self, st: Statement, name: str, value: Any) -> None:
        if value is None:
            return
        self.fields[name] = value
        self.where[name] = st

    def extend(self, st: Statement, name: str, items: Iterable[Any]) -> None:
        """Add to a list field (a second `track_interface { }` block adds to the first), in place, so that
        thousands of blocks (from ~SEQ) cost each their own; finish_instance makes it a tuple."""
        self.fields.setdefault(name, []).extend(items)
        self.where[name] = st


Handler = Callable[[Reporter, InstanceDraft, Statement], None]
