"""LinkWatcher(addresses=True) on the real kernel: address events name their interface."""

from __future__ import annotations

import select

import pytest
from net_helpers import ip, namespaces, opened_in, veth

from vrrptui.net.linkwatch import LinkWatcher

pytestmark = pytest.mark.netns


def address_changes_until(watcher: LinkWatcher, wanted: str, timeout: float = 5.0) -> set[str]:
    seen: set[str] = set()
    while wanted not in seen:
        ready, _, _ = select.select([watcher], [], [], timeout)
        assert ready, f"no address event for {wanted} within {timeout} s; saw {seen}"
        assert watcher.read() == []  # an address is not a link change
        seen |= watcher.address_changes()
    return seen


def test_address_added_and_removed_are_reported_per_interface(netns_ok: None) -> None:
    with namespaces("lwa-r", "lwa-p") as (ns_r, ns_p):
        veth(ns_r, "eth0", ns_p, "peer0")
        with opened_in(ns_r, lambda: LinkWatcher(addresses=True)) as watcher:
            # the veth's carrier comes up a moment after creation: drain until the watcher knows it
            while not watcher.states().get("eth0"):
                assert select.select([watcher], [], [], 5.0)[0], "eth0 never came up"
                watcher.read()
            watcher.address_changes()  # whatever the link coming up brought (its link-local address)
            ip("-n", ns_r, "addr", "add", "10.9.9.1/24", "dev", "eth0")
            assert address_changes_until(watcher, "eth0") == {"eth0"}
            ip("-n", ns_r, "addr", "add", "2001:db8:9::1/64", "dev", "eth0", "nodad")
            assert "eth0" in address_changes_until(watcher, "eth0")
            ip("-n", ns_r, "addr", "del", "10.9.9.1/24", "dev", "eth0")
            assert "eth0" in address_changes_until(watcher, "eth0")
            assert watcher.address_changes() == set()


def test_without_addresses_only_links_are_watched(netns_ok: None) -> None:
    with namespaces("lwa-r", "lwa-p") as (ns_r, ns_p):
        veth(ns_r, "eth0", ns_p, "peer0")
        with opened_in(ns_r, LinkWatcher) as watcher:
            ip("-n", ns_r, "addr", "add", "10.9.9.1/24", "dev", "eth0")
            ip("-n", ns_r, "link", "set", "eth0", "down")
            ready, _, _ = select.select([watcher], [], [], 5.0)
            assert ready
            assert ("eth0", False) in watcher.read()
            assert watcher.address_changes() == set()
