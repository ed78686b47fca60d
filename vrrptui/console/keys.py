"""Users' key remapping: `--keys FILE` or $VRRPTUI_KEYS, one `binding_id = key` a line.

    # ~/.config/vrrptui/keys
    demote = x
    write_pcap = ctrl+w

Checked before the UI starts: an unknown binding id or key name, a malformed line, or two
actions on one key is an error that names the file and line; every error is reported at once.
The result goes to App.set_keymap.
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Callable, Iterable, Mapping

from textual.binding import Binding
from textual.keys import Keys, _character_to_key

KEYS_ENV = "VRRPTUI_KEYS"

# Keys the console cannot give to an action: Textual's own, and those the tables and tabs consume first.
RESERVED = {
    "ctrl+q": "Textual's quit", "ctrl+p": "the command palette", "tab": "focus", "shift+tab": "focus",
    "up": "the tables", "down": "the tables", "left": "the tables and tabs", "right": "the tables and tabs",
    "enter": "the tables", "pageup": "the tables", "pagedown": "the tables", "home": "the tables",
    "end": "the tables",
}


MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
# What may follow the modifiers: Textual's named keys (f5, pageup, ...) and every printable character's name.
BASE_KEYS = frozenset({k.value.rsplit("+", 1)[-1] for k in Keys if not k.value.startswith("<")}
                      | {_character_to_key(chr(c)) for c in range(32, 127)} | {chr(c) for c in range(33, 127)})


def key_problem(key: str) -> str | None:
    """Why `key` (one key of a binding, e.g. `ctrl+x`) names no key a terminal can send, or None."""
    *mods, base = key.split("+")
    if not base or base not in BASE_KEYS:
        return f"{base or key!r} is not a key (keys: a-z, 0-9, f1-f24, space, question_mark, ...)"
    unknown = [m for m in mods if m not in MODIFIERS]
    if unknown:
        return f"{unknown[0]!r} is not a modifier (use {', '.join(MODIFIERS[:3])})"
    if len(set(mods)) != len(mods):
        return "a modifier is given twice"
    return None


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
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        binding_id, sep, key = (part.strip() for part in line.partition("="))
        if not sep or not binding_id or not key:
            errors.append(f"{source}:{number}: expected `binding_id = key` (for example `demote = x`), got {line!r}")
        elif binding_id not in valid:
            errors.append(f"{source}:{number}: unknown binding id {binding_id!r}; "
                          f"valid ids: {', '.join(sorted(valid))}")
        elif binding_id in lines:
            errors.append(f"{source}:{number}: {binding_id} is already set on line {lines[binding_id]}; "
                          "keep one of the two lines")
        else:
            keys = [k.strip() for k in key.split(",")]
            if any(not k or " " in k for k in keys):
                errors.append(f"{source}:{number}: {key!r} is not a key name; use names such as x, ctrl+x, f5, "
                              "space, question_mark (several: x,ctrl+x)")
                continue
            problems = [f"{k}: {why}" for k in keys if (why := key_problem(k))]
            if problems:
                errors.append(f"{source}:{number}: " + "; ".join(problems))
                continue
            keymap[binding_id], lines[binding_id] = ",".join(keys), number
    normalized = normalize(keymap)
    for scope in screens:
        owner: dict[str, str] = {}
        for binding_id, default in scope.items():
            for key in normalized.get(binding_id, normalize({"_": default})["_"]).split(","):
                if key in RESERVED and binding_id in lines:
                    errors.append(f"{source}:{lines[binding_id]}: {key} is taken by {RESERVED[key]}; "
                                  f"choose another key for {binding_id}")
                elif key in owner:
                    # the binding the file set first: that is the line to look at
                    first, second = (binding_id, owner[key]) if binding_id in lines else (owner[key], binding_id)
                    errors.append(f"{source}:{lines.get(first)}: {key} would do both {first} and {second}; give one "
                                  "of them another key")
                owner[key] = binding_id
    if errors:
        raise KeymapError("\n".join(errors))
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
