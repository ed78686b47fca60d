"""The runtime's feed sends a status snapshot when the status changed, not every period regardless."""

from __future__ import annotations

import asyncio

from vrrptui.daemon.feed import SNAPSHOT_PERIOD, ObserverFeed
from vrrptui.records import StatusSnapshot


class Engine:
    def __init__(self) -> None:
        self.value: tuple[str, ...] = ("BACKUP",)
        self.asked = 0

    def status(self, now: float) -> tuple[str, ...]:
        self.asked += 1
        return self.value


def test_unchanged_status_is_sent_once():
    asyncio.run(_unchanged())


async def _unchanged():
    engine, batches = Engine(), []
    feed = ObserverFeed(asyncio.get_running_loop(), batches.append, engine, lambda line: None, lambda f: f)

    def snapshots() -> list[StatusSnapshot]:
        return [item for batch in batches for item in batch if isinstance(item, StatusSnapshot)]

    while engine.asked < 5:
        await asyncio.sleep(SNAPSHOT_PERIOD)
    assert [s.instances for s in snapshots()] == [("BACKUP",)]
    engine.value = ("MASTER",)
    asked = engine.asked
    while engine.asked < asked + 3:
        await asyncio.sleep(SNAPSHOT_PERIOD)
    feed.stop_snapshots()
    assert [s.instances for s in snapshots()] == [("BACKUP",), ("MASTER",)]
