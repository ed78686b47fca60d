"""Value conversion for keyword handlers: numbers, addresses, flags, commands.

Every converter reports a bad value at the statement's file:line, says what
would be valid, and returns None so the handler can skip the setting.
"""

from __future__ import annotations

import ipaddress
import pwd
import re
from typing import Protocol

from vrrptui.config import keywords
from vrrptui.config.blocks import Statement
from vrrptui.config.model import Diagnostic, IPAddress, NotifyScript
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

    def warning(self, where: Located, message: str, host: bool = False) -> None:
        self.diagnostics.append(Diagnostic(where.file, where.line, "warning", message, host))

    def unknown_keyword(self, st: Statement, section: str) -> None:
        """A keyword with no handler: known to keepalived (see keywords.py) or truly unknown."""
        if keywords.effect(section, st.name) is not None:
            self.not_implemented(st, section)
            return
        self.warning(st, f"unknown keyword '{st.name}' in {section}: ignored (check the spelling against "
                         f"keepalived.conf(5))")

    def not_implemented(self, st: Statement, section: str) -> None:
        what = keywords.effect(section, st.name)
        self.warning(st, f"'{st.name}' in {section} is known to keepalived, not acted on by vrrptui: ignored"
                         + (f" (keepalived: {what})" if what else ""))


def single(r: Reporter, st: Statement, example: str) -> Token | None:
    """The one value a keyword takes; keepalived reads the first word and ignores the rest of the line."""
    if not st.values:
        r.error(st, f"'{st.name}' needs a value, e.g. `{example}`")
        return None
    if len(st.values) > 1:
        ignored = " ".join(t.text for t in st.values[1:])
        r.warning(st.values[1], f"'{st.name}' takes one value: keepalived uses '{st.values[0].text}' and ignores "
                                f"'{ignored}' (put `{ignored}` on its own line if it is a setting)")
    return st.values[0]


WHOLE = re.compile(r"[+-]?[0-9]{1,30}")  # ASCII digits, as keepalived's strtol reads them: not `2_5` nor `٥٠`
DECIMAL = re.compile(r"[+-]?([0-9]{1,30}\.?[0-9]{0,30}|\.[0-9]{1,30})")  # nor `1e0`, `nan` or `inf`
C_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F]{1,30}|[0-9]{1,30})")  # strtoul(..., 0): decimal, 0x hex, 0 octal


def whole_number(text: str) -> int:
    """TEXT as keepalived reads a whole number; ValueError for anything else (Python's int() takes more)."""
    if WHOLE.fullmatch(text) is None:
        raise ValueError(text)
    return int(text, 10)


def decimal_number(text: str) -> float:
    """TEXT as keepalived reads a decimal (`1`, `0.5`, `.5`, `1.`); ValueError for anything else."""
    if DECIMAL.fullmatch(text) is None:
        raise ValueError(text)
    return float(text)


def c_number(text: str) -> int:
    """TEXT as C's strtoul(text, 0) reads it whole: 10, 0x0a or 012; ValueError for anything else."""
    if C_NUMBER.fullmatch(text) is None:
        raise ValueError(text)
    return int(text, 0) if not re.fullmatch(r"[+-]?0[0-9]+", text) else int(text, 8)


def integer(r: Reporter, st: Statement, low: int, high: int, example: str, what: str | None = None) -> int | None:
    token = single(r, st, example)
    if token is None:
        return None
    what = what or st.name
    try:
        value = whole_number(token.text)
    except ValueError:
        r.error(token, f"{what} '{token.text}' is not a whole number: use {low}-{high}, e.g. `{example}`")
        return None
    if not low <= value <= high:
        r.error(token, f"{what} {value} is out of range: use {low}-{high}, e.g. `{example}`")
        return None
    return value


def parse_integer(r: Reporter, token: Token, low: int, high: int, what: str) -> int | None:
    try:
        value = whole_number(token.text)
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
        value = decimal_number(token.text)
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


def ip_address(text: str) -> IPAddress:
    """An IPv4 or IPv6 address as keepalived's inet_pton reads it: without a zone (`fe80::1%eth0`), which
    Python accepts but a received packet's source never carries (it would match no peer). ValueError."""
    if "%" in text:
        raise ValueError(f"'{text}' has a zone")
    return ipaddress.ip_address(text)


def address(r: Reporter, token: Token, what: str, example: str) -> IPAddress | None:
    """keepalived skips a malformed address ("malformed ... address. Skipping"): a warning, not an error."""
    if "%" in token.text:
        r.warning(token, f"{what} '{token.text}' has a zone (`%{token.text.partition('%')[2]}`), which keepalived "
                         f"refuses as malformed and skips, and so does vrrptui: write the address alone; e.g. "
                         f"`{example}`")
        return None
    try:
        return ip_address(token.text)
    except ValueError:
        r.warning(token, f"{what} '{token.text}' is not a valid IPv4 or IPv6 address: keepalived skips it and so "
                         f"does vrrptui; e.g. `{example}`")
        return None


def command(r: Reporter, st: Statement) -> str | None:
    """A notify/script command: one quoted string, or the rest of the line (keepalived accepts both)."""
    if not st.values:
        r.error(st, f"'{st.name}' needs a command, e.g. `{st.name} \"/etc/keepalived/notify.sh arg\"`")
        return None
    return " ".join(t.text for t in st.values)


IFNAMSIZ = 15  # Linux interface names (and address labels) are at most 15 bytes


def is_interface_name(name: str) -> bool:
    """A name the kernel can give an interface: 1-15 bytes, no '/' or spaces."""
    return bool(name) and len(name.encode()) <= IFNAMSIZ and "/" not in name and not any(c.isspace() for c in name)


def interface_name(r: Reporter, token: Token, what: str) -> str | None:
    """An interface name the kernel can have."""
    name = token.text
    if not is_interface_name(name):
        r.error(token, f"{what} '{name[:40]}' is not a Linux interface name (1-{IFNAMSIZ} bytes, no '/' or "
                       f"spaces)")
        return None
    return name


USER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*[$]?$")


def notify_script(r: Reporter, st: Statement) -> NotifyScript | None:
    """`notify_X SCRIPT [user [group]]` as keepalived reads it (extra words: ignored, with a warning)."""
    if not st.values:
        r.error(st, f"'{st.name}' needs a command, e.g. `{st.name} \"/etc/keepalived/notify.sh arg\"`")
        return None
    command, *run_as = [t.text for t in st.values]
    if len(run_as) > 2:
        r.warning(st.values[3], f"'{st.name}' takes a script and an optional user and group: keepalived ignores "
                                f"'{' '.join(run_as[2:])}'; quote the script with its arguments: "
                                f"`{st.name} \"{' '.join([command, *run_as])}\"`")
    user, group = (run_as + [None, None])[:2]
    for word, what in ((user, "user"), (group, "group")):
        if word is not None and not USER_NAME.match(word):
            r.warning(st, f"keepalived reads '{word}' after the script as the {what} to run it as, not as an "
                          f"argument (and ignores the script when no such {what} exists); to pass arguments, quote "
                          f"the whole command: `{st.name} \"{' '.join([command, *run_as])}\"`")
    if user is not None and USER_NAME.match(user):
        try:
            pwd.getpwnam(user)
        except KeyError:
            r.warning(st, f"user '{user}' does not exist on this host: keepalived ignores this {st.name} script "
                          f"here (\"Invalid user/group\"), and so does vrrptui", host=True)
    return NotifyScript(command, user, group, st.file, st.line)


def no_block(r: Reporter, st: Statement) -> None:
    if st.block is not None:
        r.error(st, f"'{st.name}' takes no '{{ }}' block; write `{st.name} VALUE` on one line")


NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # C0 and DEL: only an escape makes them (the lexer refuses them raw)


def block_of(r: Reporter, st: Statement, example: str, named: bool = False) -> list[Statement]:
    """The statements inside `keyword [NAME] { ... }`; `named` sections take their name as value."""
    if st.block is None:
        r.error(st, f"'{st.name}' needs a block: `{example}`")
        return []
    if st.values and not named:
        r.warning(st.values[0], f"'{st.name}' takes no value before '{{': '{st.values[0].text}' ignored")
    if named and st.values and (bad := NAME_CONTROL.search(st.values[0].text)) is not None:
        # keepalived leaves `\n` in a name as written; decoded, it would start a new line in the log and on
        # the notify FIFOs, where the name is printed
        r.error(st.values[0], f"the name of this {st.name} holds control character 0x{ord(bad.group(0)):02x} (an "
                              f"escape such as \\n in quotes): names are printed in log and FIFO lines; remove it")
    return st.block
