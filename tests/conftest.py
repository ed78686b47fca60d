"""Shared test plumbing.

Rule: locally a test that lacks a prerequisite (root, netns, keepalived, tcpdump)
is skipped with the reason; in CI (CI=true) it fails instead. Use `require()`.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip locally, fail in CI, when a prerequisite is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {what}")
    pytest.skip(f"prerequisite missing: {what}")


def _netns_works() -> bool:
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    name = f"vrrptui-probe-{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


@pytest.fixture(scope="session")
def netns_ok() -> None:
    require(os.geteuid() == 0, "root (network namespaces, raw sockets)")
    require(_netns_works(), "ip netns add/del")


@pytest.fixture(scope="session")
def tcpdump_ok() -> str:
    path = shutil.which("tcpdump")
    require(path is not None, "tcpdump (apt-get install tcpdump)")
    return path


@pytest.fixture(scope="session")
def keepalived_ok() -> str:
    path = shutil.which("keepalived") or ("/usr/sbin/keepalived" if os.path.exists("/usr/sbin/keepalived") else None)
    require(path is not None, "keepalived (apt-get install keepalived)")
    return path


@pytest.fixture(scope="session")
def promtool_ok() -> str:
    path = shutil.which("promtool")
    require(path is not None, "promtool (apt-get install prometheus)")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def prometheus_ok() -> str:
    path = shutil.which("prometheus")
    require(path is not None, "prometheus (apt-get install prometheus)")
    return path  # type: ignore[return-value]


@pytest.fixture
def make_lab(netns_ok: None):
    """Factory: make_lab(routers=("r1", "r2"), **Lab kwargs) -> a running Lab, removed after the test.

    Every lab made through it is torn down after the test, pass or fail.
    """
    from vrrptui.lab.netns import Lab

    labs: list[Lab] = []

    def factory(routers: tuple[str, ...] = ("r1", "r2"), **kw) -> Lab:
        lab = Lab(routers=routers, **kw)
        labs.append(lab)
        return lab

    try:
        yield factory
    finally:
        for lab in reversed(labs):
            lab.down()


@pytest.fixture
def lab(make_lab):
    """The default lab: routers r1 (.11) and r2 (.12), client pc1 (.2), bridge in between."""
    return make_lab()


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory, monkeypatch):
    """Event histories and drills of every test go to a scratch STATE_DIR, never /var/lib."""
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("VRRPTUI_STATE_DIR", str(path))
    return path
