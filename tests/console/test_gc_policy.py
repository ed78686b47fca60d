"""After start-up the console freezes what it built, and its timer's tick makes the middle and full
garbage collections, never a key press's allocations (app.GC_THRESHOLDS)."""

from __future__ import annotations

import gc

import harness as h
from vrrptui.console.app import FULL_GC_EVERY, GC_THRESHOLDS, VrrpConsole


def test_startup_objects_frozen_and_full_collections_made_rare():
    before = gc.get_threshold()
    try:
        VrrpConsole._freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        young, middle, full = GC_THRESHOLDS
        assert young > before[0] and middle >= 100_000 and full >= 100_000  # only young ones on their own
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_tick_makes_the_middle_collection_and_every_so_often_the_full_one(tmp_path, monkeypatch):
    import asyncio

    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation) or 0)

    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)):
            collected.clear()
            for _ in range(FULL_GC_EVERY):
                await app._timer_tick()

    asyncio.run(run())
    assert collected == [1] * (FULL_GC_EVERY - 1) + [2]
