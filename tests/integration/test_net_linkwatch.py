"""LinkWatcher on the real kernel: the far end of a veth goes down and up."""

from __future__ import annotations

import select

import pytest
from net_helpers import ip, namespaces, opened_in, veth, wait_for

from vrrptui.net import linkwatch
from vrrptui.net.linkwatch import LinkWatcher

pytestmark = pytest.mark.netns


@pytest.fixture
def watched(netns_ok: None):
    with namespaces("lw-r", "lw-p") as (ns_r, ns_p):
        veth(ns_r, "eth0", ns_p, "peer0")
        # the carrier comes up a moment after both ends: a watcher opened before sees eth0 down, then up
        wait_for(lambda: "LOWER_UP" in ip("-n", ns_r, "link", "show", "eth0"))
        with opened_in(ns_r, LinkWatcher) as watcher:
            yield ns_r, ns_p, watcher


def changes_until(watcher: LinkWatcher, *wanted: tuple[str, bool], timeout: float = 5.0) -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []
    while not all(w in seen for w in wanted):
        ready, _, _ = select.select([watcher], [], [], timeout)
        assert ready, f"no {wanted} within {timeout} s; saw {seen}"
        seen += watcher.read()
    return seen


def test_initial_state_is_known_and_quiet(watched):
    _, _, watcher = watched
    assert watcher.states()["eth0"] is True
    assert watcher.states()["lo"] is True
    assert watcher.read() == []


def test_reports_down_and_up_when_the_peer_end_goes_down_and_up(watched):
    _, ns_p, watcher = watched
    ip("-n", ns_p, "link", "set", "peer0", "down")
    assert changes_until(watcher, ("eth0", False)) == [("eth0", False)]
    ip("-n", ns_p, "link", "set", "peer0", "up")
    assert changes_until(watcher, ("eth0", True)) == [("eth0", True)]
    assert watcher.read() == []


def test_reports_admin_down_new_and_deleted_links(watched):
    ns_r, _, watcher = watched
    ip("-n", ns_r, "link", "set", "eth0", "down")
    changes_until(watcher, ("eth0", False))
    ip("-n", ns_r, "link", "add", "name", "x0", "type", "veth", "peer", "name", "x1")
    ip("-n", ns_r, "link", "set", "x0", "up")
    ip("-n", ns_r, "link", "set", "x1", "up")
    changes_until(watcher, ("x0", True))
    ip("-n", ns_r, "link", "del", "x0")
    changes_until(watcher, ("x0", False), ("x1", False))  # a veth goes with its peer
    assert "x0" not in watcher.states()


def test_a_link_moved_to_another_namespace_and_back_counts_as_created_again(netns_ok: None):
    # It keeps its index (free again here), so an index check missed it; its multicast groups are gone
    # all the same, and the VRRP sockets must be opened again.
    with namespaces("lw-r", "lw-p", "lw-park") as (ns_r, ns_p, ns_park):
        veth(ns_r, "eth0", ns_p, "peer0")
        with opened_in(ns_r, LinkWatcher) as watcher:
            index = watcher.index("eth0")
            ip("-n", ns_r, "link", "set", "eth0", "netns", ns_park)
            changes_until(watcher, ("eth0", False))
            ip("-n", ns_park, "link", "set", "eth0", "netns", ns_r)
            ip("-n", ns_r, "link", "set", "eth0", "up")
            changes_until(watcher, ("eth0", True))
            assert watcher.index("eth0") == index
            assert watcher.recreated() == {"eth0"}
            ip("-n", ns_r, "link", "set", "eth0", "down")  # a plain down/up is not a re-creation
            ip("-n", ns_r, "link", "set", "eth0", "up")
            changes_until(watcher, ("eth0", False), ("eth0", True))
            assert watcher.recreated() == set()


def test_names_of_links_that_went_are_remembered_up_to_a_bound(watched, monkeypatch):
    # containers' veths come and go under new names: the memory of gone links must not grow with them
    ns_r, _, watcher = watched
    monkeypatch.setattr(linkwatch, "MAX_REMEMBERED", 4)
    for n in range(8):
        ip("-n", ns_r, "link", "add", "name", f"c{n}", "type", "veth", "peer", "name", f"d{n}")
        ip("-n", ns_r, "link", "del", f"c{n}")
    wait_for(lambda: (watcher.read() or True) and watcher._last_index.get("d7") == linkwatch.GONE)
    assert len(watcher._last_index) <= 4
