"""The earliest deadline over an engine's machines, cheap for backups that hear adverts all the time.

A backup's Master_Down_Timer moves later with every advert: 2,550 times a second for 255 instances at
0.1 s. The heap holds one live entry per machine, never later than the machine's own deadline: a
deadline that moves later is not pushed, its entry is moved when it reaches the top (`earliest`) or
comes due (`due`); a deadline that moves earlier is pushed at once. `epoch` changes whenever the
earliest deadline may have moved earlier, so a caller that keeps a timer armed re-asks only then.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping

from vrrptui.engine.machine import VrrpMachine


class Deadlines:
    def __init__(self) -> None:
        self.machines: Mapping[str, VrrpMachine] = {}
        # (deadline, seq, machine): seq keeps machines due at the same time in the order they were pushed
        self._heap: list[tuple[float, int, str]] = []
        self._entry: dict[str, float] = {}  # machine -> its live entry's deadline; other entries are dead
        self._seq = itertools.count()
        self._stale = True
        self.epoch = 0  # changes whenever `earliest()` may have become earlier (a push, a rescan)

    def __len__(self) -> int:
        """Entries held, dead ones included (bounded by the pushes of earlier deadlines)."""
        return len(self._heap)

    def rescan(self) -> None:
        """Any machine's deadline may have moved either way (a command, a tracker, a reload)."""
        self._stale = True
        self.epoch += 1

    def touch(self, machine: VrrpMachine) -> None:
        """`machine` is the one an entry point changed (an advert, a dropped packet, its timer)."""
        deadline = machine.get_timer()
        if deadline is not None:
            entry = self._entry.get(machine.name)
            if entry is None or deadline < entry:
                self._push(deadline, machine.name)
        # later (a backup hearing its master), the same, or none: the entry is corrected once on top

    def earliest(self) -> float | None:
        if self._stale:
            self._rebuild()
        heap, entry = self._heap, self._entry
        while heap:
            deadline, _, name = heap[0]
            if entry.get(name) != deadline:  # superseded by an earlier deadline of the same machine
                heapq.heappop(heap)
                continue
            machine = self.machines.get(name)
            actual = machine.get_timer() if machine is not None else None
            if actual == deadline:
                return deadline
            if actual is None:
                heapq.heappop(heap)
                del entry[name]
            else:  # moved later since it was pushed
                entry[name] = actual
                heapq.heapreplace(heap, (actual, next(self._seq), name))
        return None

    def due(self, now: float) -> list[VrrpMachine]:
        """The machines whose deadline has come, in deadline order; their entries are taken out."""
        if self._stale:
            self._rebuild()
        heap, entry = self._heap, self._entry
        due: dict[str, VrrpMachine] = {}
        while heap and heap[0][0] <= now:
            deadline, _, name = heapq.heappop(heap)
            if entry.get(name) != deadline:
                continue
            del entry[name]
            machine = self.machines.get(name)
            actual = machine.get_timer() if machine is not None else None
            if machine is None or actual is None:
                continue
            if actual <= now:
                due[name] = machine
            else:  # moved later since it was pushed
                self._push(actual, name)
        return list(due.values())

    def _push(self, deadline: float, name: str) -> None:
        self._entry[name] = deadline
        heapq.heappush(self._heap, (deadline, next(self._seq), name))
        self.epoch += 1

    def _rebuild(self) -> None:
        self._heap = [(t, next(self._seq), name) for name, m in self.machines.items()
                      if (t := m.get_timer()) is not None]
        heapq.heapify(self._heap)
        self._entry = {name: t for t, _, name in self._heap}
        self._stale = False
