"""Console tests: frozen times and a fixed time zone so snapshots are stable."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    time.tzset()


@pytest.fixture
def make_lab(netns_ok):
    """Like tests/integration's make_lab (a Lab per call, always torn down); it belongs in tests/conftest.py."""
    from vrrptui.lab.netns import Lab

    labs = []

    def factory(routers=("r1", "r2"), **kw):
        lab = Lab(routers=routers, **kw)
        labs.append(lab)
        return lab

    try:
        yield factory
    finally:
        for lab in reversed(labs):
            lab.down()
