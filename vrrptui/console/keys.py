"""Users' key remapping: `--keys FILE` or $VRRPTUI_KEYS, one `binding_id = key` a line.

    # ~/.config/vrrptui/keys
    demote = x
    write_pcap = ctrl+w

Checked before the UI starts: an unknown binding id, a malformed line, or two actions
on one key is an error that names the file and line. The result goes to App.set_keymap.
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Callable, Iterable, Mapping

from textual.binding import Binding

KEYS_ENV = "VRRPTUI_KEYS"

# Keys the console cannot give to an action: Textual's own, and those the tables and tabs consume first.
RESERVED = {
    "ctrl+q": "Textual's quit", "ctrl+p": "the command palette", "tab": "focus", "shift+tab": "focus",
    "up": "the tables", "down": "the tables", "left": "the tables and tabs", "right": "the tables and tabs",
    "enter": "the tables", "pageup": "the tables", "pagedown": "the tables", "home": "the tables",
    "end": "the tables",
}


class KeymapError(ValueError):
    """A keys file the console cannot use; the message says where and what to do."""


def binding_ids(bindings: Iterable[Binding]) -> dict[str, str]:
    """Binding id -> its default key(s)."""
    return {b.id: b.key for b in bindings if b.id}


def parse_keymap(text: str, source: str, screens: list[dict[str, str]],
                 normalize: Callable[[dict[str, str]], Mapping[str, str]]) -> dict[str, str]:
    """`binding_id = key` lines -> a keymap. `screens`: the ids of each binding scope (the app first).

    `normalize` is the app's own key normaliser ("?" -> "question_mark"), so clashes are
    found the way Textual will see them.
    """
    valid = {i: k for scope in screens for i, k in scope.items()}
    keymap: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        binding_id, sep, key = (part.strip() for part in line.partition("="))
        if not sep or not binding_id or not key:
            raise KeymapError(f"{source}:{number}: expected `binding_id = key` (for example `demote = x`), "
                              f"got {line!r}")
        if binding_id not in valid:
            raise KeymapError(f"{source}:{number}: unknown binding id {binding_id!r}; valid ids: "
                              f"{', '.join(sorted(valid))}")
        if binding_id in lines:
            raise KeymapError(f"{source}:{number}: {binding_id} is already set on line {lines[binding_id]}; "
                              "keep one of the two lines")
        keys = [k.strip() for k in key.split(",")]
        if any(not k or " " in k for k in keys):
            raise KeymapError(f"{source}:{number}: {key!r} is not a key name; use names such as x, ctrl+x, f5, "
                              "space, question_mark (several: x,ctrl+x)")
        keymap[binding_id], lines[binding_id] = ",".join(keys), number
    normalized = normalize(keymap)
    for scope in screens:
        owner: dict[str, str] = {}
        for binding_id, default in scope.items():
            for key in normalized.get(binding_id, normalize({"_": default})["_"]).split(","):
                if key in RESERVED and binding_id in lines:
                    raise KeymapError(f"{source}:{lines[binding_id]}: {key} is taken by {RESERVED[key]}; "
                                      f"choose another key for {binding_id}")
                if key in owner:
                    other = owner[key]
                    where = lines.get(binding_id) or lines.get(other)
                    raise KeymapError(f"{source}:{where}: {key} would do both {other} and {binding_id}; give one "
                                      "of them another key")
                owner[key] = binding_id
    return keymap


def keys_file(arg: Path | None) -> tuple[Path, str] | None:
    """The keys file to read (`--keys` wins over $VRRPTUI_KEYS) and how to name it in errors."""
    if arg is not None:
        return arg, str(arg)
    env = os.environ.get(KEYS_ENV)
    if env:
        return Path(env), f"{env} (${KEYS_ENV})"
    return None


def load_keymap(path: Path, source: str, screens: list[dict[str, str]],
                normalize: Callable[[dict[str, str]], Mapping[str, str]]) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeymapError(f"{source}: cannot read the keys file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise KeymapError(f"{source}: not a text file (expected lines `binding_id = key`)") from None
    return parse_keymap(text, source, screens, normalize)
