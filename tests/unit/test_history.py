"""The event history on a fake clock: what the wire and the engine did, dated; and where it is kept."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from vrrptui.console.statefiles import StateDir, config_name, state_root
from vrrptui.engine.outputs import Reason, State, StateChanged
from vrrptui.records import Heard
from vrrptui.observe.history import HistoryEvent, iso_time, parse_events, to_csv, to_jsonl
from vrrptui.observe.session import Session
from vrrptui.protocol.packet import Advert

A, B = "192.168.1.11", "192.168.1.12"
WALL = 1_700_000_000.0  # the capture clock is epoch seconds here (wall_offset 0)


def advert(src: str, at: float, prio: int, interval: float = 0.1) -> Heard:
    a = Advert.from_fields(3, 51, prio, interval, ("192.168.1.100",))
    return Heard("eth0", at, ipaddress.ip_address(src), ipaddress.ip_address("224.0.0.18"), 255, a)


def session_with(*items: Heard) -> Session:
    s = Session(None)
    s.feed(items, items[-1].at)
    return s


def kinds(s: Session) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in s.history.events]


def test_takeover_after_silence_records_the_missed_run_and_the_new_master():
    items = [advert(A, WALL + i * 0.1, 150) for i in range(5)]  # A's last at +0.4
    items += [advert(B, WALL + 0.78, 100), advert(B, WALL + 0.88, 100)]
    s = session_with(*items)
    assert kinds(s) == [
        ("missed", f"{A} missed 3 adverts (380 ms without one)"),
        ("master", f"master {A} -> {B} (took over after silence, takeover 380 ms)"),
    ]
    master = s.history.events[-1]
    assert master.scope == "eth0 vrid 51 IPv4" and master.data["takeover_ms"] == 380.0
    assert master.to_json()["time"] == iso_time(WALL + 0.78)


def test_handover_after_priority_zero_is_timed_from_the_resignation_and_misses_nothing():
    items = [advert(A, WALL, 150), advert(A, WALL + 0.1, 150), advert(A, WALL + 0.15, 0), advert(B, WALL + 0.16, 100)]
    s = session_with(*items)
    assert kinds(s) == [("master", f"master {A} resigned (priority 0)"),
                        ("master", f"master {A} -> {B} (after its priority-0 advert, takeover 10 ms)")]


def test_preemption_and_priority_changes():
    items = [advert(B, WALL, 100), advert(B, WALL + 0.1, 100), advert(A, WALL + 0.15, 150),
             advert(A, WALL + 0.25, 50)]
    s = session_with(*items)
    assert kinds(s) == [("master", f"master {B} -> {A} (preempted, takeover 50 ms)"),
                        ("priority", f"{A} advertises priority 150 -> 50")]


def test_a_thawed_master_records_the_adverts_it_missed():
    items = [advert(A, WALL, 150), advert(A, WALL + 0.1, 150), advert(A, WALL + 2.1, 150)]
    s = session_with(*items)
    assert kinds(s) == [("missed", f"{A} missed 19 adverts (2000 ms without one)")]


def test_engine_transitions_and_operator_actions_are_dated():
    s = Session(None)
    s.feed([StateChanged("VI_1", State.MASTER, State.BACKUP, Reason.OPERATOR, WALL + 1, "demoted")], WALL + 1)
    s.operator("demote", "VI_1", WALL + 0.99)
    assert kinds(s) == [("transition", "MASTER -> BACKUP: operator (demoted)"), ("operator", "demote")]
    assert [e.wall for e in s.history.take_pending()] == [WALL + 1, WALL + 0.99]
    assert s.history.pending == []


def test_alarms_go_to_the_history_and_the_advert_log():
    s = session_with(advert(A, WALL, 150), advert(A, WALL + 0.1, 150))
    s.tick(WALL + 1.0)
    (alarm,) = [e for e in s.history.events if e.kind == "alarm"]
    assert alarm.text.startswith(f"NO MASTER for 0.9 s: master {A} silent") and alarm.data["code"] == "no master"
    assert s.text(s.log[-1]) == [f"!!! ALARM eth0 vrid 51 IPv4: {alarm.text}"]
    s.feed([advert(A, WALL + 1.05, 150)], WALL + 1.05)
    s.tick(WALL + 1.06)
    assert [e.kind for e in s.history.events][-2:] == ["missed", "cleared"]


def test_events_round_trip_through_jsonl_and_export_to_csv():
    e = HistoryEvent(WALL + 0.5, "master", "eth0 vrid 51 IPv4", f"master {A} -> {B}, \"fast\"", {"takeover_ms": 12.5})
    line = to_jsonl([e]).strip()
    assert json.loads(line)["takeover_ms"] == 12.5
    assert parse_events([line, "not json", "{}"]) == [e]
    row = f'{iso_time(WALL + 0.5)},master,eth0 vrid 51 IPv4,"master {A} -> {B}, ""fast"""'
    assert to_csv([e]).splitlines() == ["time,kind,scope,text", row]


def test_state_dir_follows_the_environment_and_the_user():
    assert state_root(0, {"VRRPTUI_STATE_DIR": "/srv/vr"}) == Path("/srv/vr")
    assert state_root(0, {"HOME": "/root"}) == Path("/var/lib")
    assert state_root(1000, {"XDG_STATE_HOME": "/srv/state", "HOME": "/home/ops"}) == Path("/srv/state")
    assert state_root(1000, {"XDG_STATE_HOME": "rel", "HOME": "/home/ops"}) == Path("/home/ops/.local/state")
    assert config_name("/etc/keepalived/keepalived.conf") == "keepalived"
    assert config_name("configs/dent 2.conf") == "dent_2"
    assert config_name(".hidden.conf") == "hidden" and config_name("..") == "_"


def test_state_files_are_private_and_never_written_through_a_symlink(tmp_path):
    d = StateDir.for_config("keepalived", environ={"VRRPTUI_STATE_DIR": str(tmp_path)})
    d.append("events.jsonl", ["one", "two"])
    d.append("events.jsonl", ["three"])
    assert d.tail("events.jsonl", 2) == ["two", "three"]
    assert d.path == tmp_path / "vrrptui" / "keepalived"
    assert oct(os.stat(d.path).st_mode & 0o777) == "0o700"
    assert oct(os.stat(d.path / "events.jsonl").st_mode & 0o777) == "0o600"
    (tmp_path / "target").write_text("")
    os.symlink(tmp_path / "target", d.path / "drills.jsonl")
    with pytest.raises(OSError):
        d.append("drills.jsonl", ["x"])
    assert (tmp_path / "target").read_text() == ""
    os.symlink(tmp_path, tmp_path / "vrrptui" / "other")
    with pytest.raises(OSError):
        StateDir(tmp_path, "vrrptui", "other").append("events.jsonl", ["x"])
    assert d.write_new("export.csv", "a\n") == d.path / "export.csv"
    with pytest.raises(FileExistsError):
        d.write_new("export.csv", "b\n")
