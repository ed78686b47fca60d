"""Operator commands, typed: the console, the worker frames and the control socket build these,
and `Engine.command(cmd, now)` checks them once (instance, priority range, state) and acts.

    engine.command(SetPriority("VI_1", 150), now)   # held until Resume
    engine.command(Demote("VI_1"), now)             # priority-0 advert, hold BACKUP
    engine.command(Failover("VI_1"), now)           # master: go silent; backup: take over
    engine.command(Resume("VI_1"), now)             # configured priority, normal election

Each class has a `verb`: the word the control socket's JSON and the console's messages use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class CommandError(ValueError):
    """The engine refused a command: unknown instance, priority outside 1-254, or the wrong state."""


@dataclass(frozen=True, slots=True)
class SetPriority:
    instance: str
    priority: int
    verb: ClassVar[str] = "set_priority"


@dataclass(frozen=True, slots=True)
class Demote:
    instance: str
    verb: ClassVar[str] = "demote"


@dataclass(frozen=True, slots=True)
class Failover:
    instance: str
    verb: ClassVar[str] = "failover"


@dataclass(frozen=True, slots=True)
class Resume:
    instance: str
    verb: ClassVar[str] = "resume"


Command = SetPriority | Demote | Failover | Resume
VERBS: dict[str, type[SetPriority] | type[Demote] | type[Failover] | type[Resume]] = {
    cls.verb: cls for cls in (SetPriority, Demote, Failover, Resume)
}
