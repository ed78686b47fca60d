"""--keys FILE / $VRRPTUI_KEYS: binding ids remapped by users, checked before the UI starts."""

from __future__ import annotations

import asyncio

import harness as h
import pytest

from vrrptui.engine.commands import Demote
from vrrptui.console.app import VrrpConsole
from vrrptui.console.cli import build_sniff
from vrrptui.console.backends import NullBackend
from vrrptui.console.keys import KeymapError, parse_keymap


def parse(text: str) -> dict[str, str]:
    return parse_keymap(text, "keys.conf", VrrpConsole.binding_scopes(), VrrpConsole._normalize_keymap)


def test_keys_file_lines_map_binding_ids_to_keys():
    text = "# my keys\n\ndemote = x\n  write_pcap=ctrl+w  \nfilter = f5, ctrl+f\ndialog.cancel = ctrl+g\n"
    assert parse(text) == {"demote": "x", "write_pcap": "ctrl+w", "filter": "f5,ctrl+f", "dialog.cancel": "ctrl+g"}


def test_swapping_two_keys_is_not_a_clash():
    assert parse("demote = q\nquit = d\n") == {"demote": "q", "quit": "d"}


def test_unknown_binding_id_names_the_line_and_lists_the_valid_ids():
    with pytest.raises(KeymapError) as e:
        parse("demote = x\ndemolish = y\n")
    assert str(e.value).startswith("keys.conf:2: unknown binding id 'demolish'; valid ids: clear_focus, ")
    for binding_id in ("priority", "failover", "resume", "write_pcap", "quit", "dialog.cancel", "help.close",
                       "confirm.yes", "detail.close", "zoom", "pane1", "search"):
        assert binding_id in str(e.value)


@pytest.mark.parametrize(("text", "message"), [
    ("demote x\n", "keys.conf:1: expected `binding_id = key` (for example `demote = x`), got 'demote x'"),
    ("demote =\n", "keys.conf:1: expected `binding_id = key`"),
    ("demote = x\ndemote = y\n", "keys.conf:2: demote is already set on line 1"),
    ("demote = ctrl x\n", "keys.conf:1: 'ctrl x' is not a key name"),
    ("demote = q\n", "keys.conf:1: q would do both demote and quit; give one of them another key"),
    ("resume = ?\n", "keys.conf:1: question_mark would do both resume and help"),
    ("demote = up\n", "keys.conf:1: up is taken by the tables; choose another key for demote"),
    ("help = ctrl+q\n", "keys.conf:1: ctrl+q is taken by Textual's quit"),
])
def test_bad_keys_files_say_where_and_what(text, message):
    with pytest.raises(KeymapError) as e:
        parse(text)
    assert str(e.value).startswith(message)


def sniff(argv, tmp_path):
    return build_sniff([*argv, "--drills", str(tmp_path / "drills.jsonl")],
                       backend_factory=lambda ifname: NullBackend(engine=False), prober_factory=lambda report: None,
                       host_factory=None)


def test_keys_option_and_environment_reach_the_app(tmp_path, monkeypatch):
    keys = tmp_path / "keys"
    keys.write_text("pause = y\n")
    app = sniff(["lo", "--keys", str(keys)], tmp_path)
    assert isinstance(app, VrrpConsole)
    assert app._keymap == {"pause": "y"} and app.keys_source == str(keys)
    monkeypatch.setenv("VRRPTUI_KEYS", str(keys))
    app = sniff(["lo"], tmp_path)
    assert app._keymap == {"pause": "y"} and app.keys_source == f"{keys} ($VRRPTUI_KEYS)"


def test_bad_keys_file_stops_before_the_ui(tmp_path, monkeypatch, capsys):
    keys = tmp_path / "keys"
    keys.write_text("pause = y\nhelpme = h\n")
    monkeypatch.setenv("VRRPTUI_KEYS", str(keys))
    assert sniff(["lo"], tmp_path) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"vrrptui sniff: {keys} ($VRRPTUI_KEYS):2: unknown binding id 'helpme'; valid ids: ")
    assert sniff(["lo", "--keys", str(tmp_path / "missing")], tmp_path) == 2
    assert "missing: cannot read the keys file: No such file or directory" in capsys.readouterr().err


def test_remapped_key_acts_and_the_help_shows_it(tmp_path):
    async def run():
        app = h.make_app(tmp_path, keymap={"demote": "x"})
        async with app.run_test(size=(150, 45)) as pilot:
            h.show_steady_backup(app)
            await pilot.pause()
            await pilot.press("d")  # no longer demote
            await pilot.pause()
            before = list(app.backend.commands)
            await pilot.press("x", "y")
            await pilot.pause()
            return before, list(app.backend.commands), app.help_rows()

    before, after, rows = asyncio.run(run())
    assert before == [] and after == [Demote("VI_1")]
    assert ("x", "Hand over gracefully (priority 0) and hold as backup; starts a drill", "demote") in rows


@pytest.mark.parametrize("key", ["ctrl+shift+alt+zz", "zz", "ctrl+ctrl+x", "hyperctrl+x", "ctrl+"])
def test_keys_no_terminal_can_send_are_refused(key):
    with pytest.raises(KeymapError) as e:
        parse(f"demote = {key}\n")
    assert str(e.value).startswith(f"keys.conf:1: {key}: ")


@pytest.mark.parametrize("key", ["x", "ctrl+x", "f5", "shift+f5", "alt+pageup", "backspace", "exclamation_mark",
                                 "!", "X"])
def test_keys_a_terminal_sends_are_accepted(key):
    assert parse(f"demote = {key}\n") == {"demote": key}


def test_every_error_of_a_keys_file_is_reported_at_once():
    with pytest.raises(KeymapError) as e:
        parse("demote x\ndemolish = y\nfailover = zz\nresume = q\n")
    assert [line.split(": ", 1)[0] for line in str(e.value).splitlines()] == [
        "keys.conf:1", "keys.conf:2", "keys.conf:3", "keys.conf:4"]


def test_help_names_the_remapped_drill_keys(tmp_path):
    async def run():
        app = h.make_app(tmp_path, keymap={"demote": "x", "failover": "ctrl+f"})
        async with app.run_test(size=(150, 45)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            return app.screen.drill_keys

    drill_keys = asyncio.run(run())
    assert drill_keys == "x and ^f"
