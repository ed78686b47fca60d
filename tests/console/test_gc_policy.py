"""After start-up the console freezes what it built and collects garbage less often (app.GC_THRESHOLDS)."""

from __future__ import annotations

import gc

from vrrptui.console.app import GC_THRESHOLDS, VrrpConsole


def test_startup_objects_frozen_and_full_collections_made_rare():
    before = gc.get_threshold()
    try:
        VrrpConsole._freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        young, middle, full = GC_THRESHOLDS
        assert young > before[0] and full > before[2]  # fewer young and far fewer full collections
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
