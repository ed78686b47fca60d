"""A stopped or hung engine is shown as such: its last state does not count on as if live.

The engine's process sends a StatusSnapshot every 0.1 s. SIGSTOP of the worker left the Instances row
counting up (`MASTER 3.4s ok` ... `MASTER 7.4s ok`) while the backup had taken over; nothing said the
engine had gone quiet.
"""

from __future__ import annotations

import harness as h

from vrrptui.console.history_pane import banner
from vrrptui.console.panes import instance_cells
from vrrptui.observe.session import Session


def _session(silence_after: float | None) -> Session:
    session = Session(None)
    session.engine_silence_after = silence_after
    session.feed([h.snapshot(h.status(state="MASTER", state_since=h.NOW - 3.4), at=h.NOW)], h.NOW)
    return session


def test_an_engine_quiet_past_its_bound_is_announced_and_its_times_stop() -> None:
    session = _session(2.0)
    st = session.statuses["VI_1"]
    live = instance_cells(st, session, h.NOW + 1.0)
    assert live[4].plain == "MASTER 4.4s" and live[5].plain != "engine silent"
    assert not [line for line, _ in banner(session, h.NOW + 1.0) if "ENGINE" in line]

    quiet = instance_cells(st, session, h.NOW + 4.0)
    assert quiet[4].plain == "MASTER 3.4s"  # as the engine last told it, not 7.4 s
    assert quiet[5].plain == "engine silent"
    (line,) = [line for line, _ in banner(session, h.NOW + 4.0) if "ENGINE" in line]
    assert line.startswith("ENGINE NOT RESPONDING: no status from it for 4 s")

    session.feed([h.snapshot(h.status(state="MASTER", state_since=h.NOW - 3.4), at=h.NOW + 4.0)], h.NOW + 4.0)
    assert not [line for line, _ in banner(session, h.NOW + 4.1) if "ENGINE" in line]  # it speaks again


def test_a_source_without_an_engine_is_never_silent() -> None:
    session = _session(None)  # a sniffer or a replay: no snapshots are due
    assert session.engine_silent_for(h.NOW + 100.0) is None
    assert not [line for line, _ in banner(session, h.NOW + 100.0) if "ENGINE" in line]
