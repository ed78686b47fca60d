"""A drill's missed-advert count is the timeline's `x` marks for the old master (one definition)."""

from __future__ import annotations

import harness as h
import pytest

from vrrptui.daemon.drillfile import DrillFile
from vrrptui.records import RouterKey
from vrrptui.records import Claim
from vrrptui.observe.session import Session

KEY = RouterKey("eth0", 150, 4)


def test_failover_drill_counts_missed_adverts_from_the_old_masters_last_advert(tmp_path):
    # We are master (1 s adverts at .3), force a failover at 10.0 (0.7 s after our last advert),
    # and the peer takes over after its Master_Down_Interval. Counting from the key press would
    # say 2; the timeline shows 3 x (due 10.3, 11.3, 12.3), and so must the drill.
    s = Session(h.config(tmp_path), drill_store=DrillFile(tmp_path / "drills.jsonl"))
    s.feed([h.snapshot(h.status(state="MASTER"), at=0.0)], 0.0)
    s.feed([h.heard(h.advert(src=h.ME, dst="224.0.0.18", prio=100, at=t + 0.3), outgoing=True)
            for t in range(10)], 9.9)
    s.start_drill("failover", "VI_1", 10.0)
    s.feed([h.heard(h.advert(src=h.PEER, dst="224.0.0.18", prio=90, at=9.3 + 3.65 + i), h.MAC_PEER)
            for i in range(3)] + [Claim(h.VIP, h.MAC_PEER, 12.96, "announce")], 15.0)
    (drill,) = s.tick(15.0)
    assert drill.result == "ok" and drill.new_master == h.PEER
    timeline_x = [due for due, src in s.timeline.missed(KEY, 15.0) if src == h.ME]
    assert timeline_x == pytest.approx([10.3, 11.3, 12.3])
    assert drill.adverts_missed == len(timeline_x) == 3


def test_demote_drill_counts_nothing_after_the_old_masters_priority_zero(tmp_path):
    s = Session(h.config(tmp_path), drill_store=DrillFile(tmp_path / "drills.jsonl"))
    s.feed([h.snapshot(h.status(state="MASTER"), at=0.0)], 0.0)
    s.feed([h.heard(h.advert(src=h.ME, dst="224.0.0.18", prio=100, at=t + 0.3), outgoing=True)
            for t in range(10)], 9.9)
    s.start_drill("demote", "VI_1", 10.0)
    s.feed([h.heard(h.advert(src=h.ME, dst="224.0.0.18", prio=0, at=10.001), outgoing=True),
            h.heard(h.advert(src=h.PEER, dst="224.0.0.18", prio=90, at=10.6), h.MAC_PEER),
            Claim(h.VIP, h.MAC_PEER, 10.61, "announce")], 11.0)
    (drill,) = s.tick(11.0)
    assert drill.adverts_missed == 0
    assert [due for due, src in s.timeline.missed(KEY, 11.0) if src == h.ME] == []
