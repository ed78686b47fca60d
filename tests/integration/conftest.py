"""Fixtures for tests that need the namespace lab (vrrptui.lab.netns.Lab).

    def test_something(make_lab, keepalived_ok):
        lab = make_lab(routers=("r1", "r2"))
        ...

Every lab made through `make_lab` is torn down after the test, pass or fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from vrrptui.lab.netns import Lab


@pytest.fixture
def make_lab(netns_ok: None) -> Iterator[Callable[..., Lab]]:
    """Factory: make_lab(routers=("r1", "r2"), **Lab kwargs) -> a running Lab, removed after the test."""
    labs: list[Lab] = []

    def factory(routers: tuple[str, ...] = ("r1", "r2"), **kw: Any) -> Lab:
        lab = Lab(routers=routers, **kw)
        labs.append(lab)
        return lab

    try:
        yield factory
    finally:
        for lab in reversed(labs):
            lab.down()


@pytest.fixture
def lab(make_lab: Callable[..., Lab]) -> Lab:
    """The default lab: routers r1 (.11) and r2 (.12), client pc1 (.2), bridge in between."""
    return make_lab()
