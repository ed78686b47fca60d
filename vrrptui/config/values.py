"""Value conversion for keyword handlers: numbers, addresses, flags, commands.

Every converter reports a bad value at the statement's file:line, says what
would be valid, and returns None so the handler can skip the setting.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

from vrrptui.config.blocks import Statement
from vrrptui.config.model import Diagnostic, IPAddress
from vrrptui.config.tokens import Token


class Located(Protocol):
    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int: ...


class Reporter:
    """Collects diagnostics; `where` is any object with `file` and `line`."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics

    def error(self, where: Located, message: str) -> None:
        self.diagnostics.append(Diagnostic(where.file, where.line, "error", message))

    def warning(self, where: Located, message: str) -> None:
        self.diagnostics.append(Diagnostic(where.file, where.line, "warning", message))

    def unknown_keyword(self, st: Statement, section: str) -> None:
        self.warning(
            st, f"unknown keyword '{st.name}' in {section}: ignored (check the spelling against keepalived.conf(5))"
        )

    def not_implemented(self, st: Statement, section: str) -> None:
        self.warning(st, f"'{st.name}' in {section} is a keepalived keyword vrrptui does not act on: ignored")


def single(r: Reporter, st: Statement, example: str) -> Token | None:
    """The one value a keyword takes; extra values are an error (keepalived would misread them)."""
    if not st.values:
        r.error(st, f"'{st.name}' needs a value, e.g. `{example}`")
        return None
    if len(st.values) > 1:
        r.error(st.values[1], f"'{st.name}' takes one value, got {len(st.values)}: `{example}`")
        return None
    return st.values[0]


def integer(r: Reporter, st: Statement, low: int, high: int, example: str, what: str | None = None) -> int | None:
    token = single(r, st, example)
    if token is None:
        return None
    what = what or st.name
    try:
        value = int(token.text, 10)
    except ValueError:
        r.error(token, f"{what} '{token.text}' is not a whole number: use {low}-{high}, e.g. `{example}`")
        return None
    if not low <= value <= high:
        r.error(token, f"{what} {value} is out of range: use {low}-{high}, e.g. `{example}`")
        return None
    return value


def parse_integer(r: Reporter, token: Token, low: int, high: int, what: str) -> int | None:
    try:
        value = int(token.text, 10)
    except ValueError:
        r.error(token, f"{what} '{token.text}' is not a whole number: use {low}-{high}")
        return None
    if not low <= value <= high:
        r.error(token, f"{what} {value} is out of range: use {low}-{high}")
        return None
    return value


def seconds(r: Reporter, st: Statement, low: float, high: float, example: str) -> float | None:
    token = single(r, st, example)
    if token is None:
        return None
    try:
        value = float(token.text)
    except ValueError:
        r.error(token, f"{st.name} '{token.text}' is not a number of seconds: use {low:g}-{high:g}, e.g. `{example}`")
        return None
    if not low <= value <= high:
        r.error(token, f"{st.name} {value:g} s is out of range: use {low:g}-{high:g} s, e.g. `{example}`")
        return None
    return value


def flag(r: Reporter, st: Statement) -> bool:
    """A keyword that takes no value (`nopreempt`); stray values are warned about and ignored."""
    if st.values:
        r.warning(st.values[0], f"'{st.name}' takes no value: '{st.values[0].text}' ignored")
    return True


_TRUE = {"true", "on", "yes", "1"}
_FALSE = {"false", "off", "no", "0"}


def boolean(r: Reporter, st: Statement) -> bool:
    """keepalived's `KEYWORD [<BOOL>]`: alone it means true; true/false, on/off, yes/no or 1/0."""
    if not st.values:
        return True
    word = st.values[0].text.lower()
    if len(st.values) > 1:
        r.warning(st.values[1], f"'{st.name}' takes at most one value: '{st.values[1].text}' ignored")
    if word in _TRUE | _FALSE:
        return word in _TRUE
    r.error(st.values[0], f"'{st.name} {st.values[0].text}': use true or false (or nothing for true)")
    return True


def address(r: Reporter, token: Token, what: str, example: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(token.text)
    except ValueError:
        r.error(token, f"{what} '{token.text}' is not a valid IPv4 or IPv6 address, e.g. `{example}`")
        return None


def command(r: Reporter, st: Statement) -> str | None:
    """A notify/script command: one quoted string, or the rest of the line (keepalived accepts both)."""
    if not st.values:
        r.error(st, f"'{st.name}' needs a command, e.g. `{st.name} \"/etc/keepalived/notify.sh arg\"`")
        return None
    return " ".join(t.text for t in st.values)


def no_block(r: Reporter, st: Statement) -> None:
    if st.block is not None:
        r.error(st, f"'{st.name}' takes no '{{ }}' block; write `{st.name} VALUE` on one line")


def block_of(r: Reporter, st: Statement, example: str, named: bool = False) -> list[Statement]:
    """The statements inside `keyword [NAME] { ... }`; `named` sections take their name as value."""
    if st.block is None:
        r.error(st, f"'{st.name}' needs a block: `{example}`")
        return []
    if st.values and not named:
        r.warning(st.values[0], f"'{st.name}' takes no value before '{{': '{st.values[0].text}' ignored")
    return st.block
