"""keepalived's line-level preprocessing (keepalived.conf(5), ADVANCED CONFIGURATION).

Applied to each physical line before it is split into words, in keepalived's order:

- `@ID line` is kept only when ID is the config id; `@^ID line` only when it is not.
  The config id is `-i/--config-id`, by default the first label of the host name.
- `$NAME=value` defines a parameter (`$NAME= \\` starts a multi-line definition whose
  lines end in `\\`); `$NAME` followed by whitespace or the end of the line, and
  `${NAME}` anywhere, are replaced (recursively, at use time). Undefined names stay.
  `${_PWD}`, `${_INSTANCE}`, `${_HASH}`, `${_BANG}` and `${_RANDOM [MIN [MAX]]}` are pre-defined.
- `~SEQ(var, start, step, end)` / `~SEQx(...)` at the start of a line repeat the rest
  of the line with $var counting (hexadecimal for ~SEQx); `~LST(var, v1, v2, ...)` likewise.

The result is a list of (line number, text) pairs: a definition expands to several lines
that all carry the line number of their use.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
DEFINITION = re.compile(rf"^\s*\$({NAME})=(.*)$")
BRACED = re.compile(rf"\$\{{({NAME})((?:\s+[0-9]+){{0,2}})\}}")
BARE = re.compile(rf"\$({NAME})(?=\s|$)")
CONDITIONAL = re.compile(r"^\s*@(\^?)(\S*)\s*(.*)$", re.DOTALL)
SEQ = re.compile(r"^\s*~(SEQx?|LST)\(")
MAX_EXPANSION_DEPTH = 32  # a parameter whose value names itself stops here
MAX_EXPANDED_LINES = 1_000_000  # keepalived's own example makes 65,024 instances


def default_config_id() -> str:
    """keepalived: the first part of the node name as returned by uname."""
    return os.uname().nodename.split(".")[0]


class ExpandError(Exception):
    """A line keepalived would refuse; carries the message for file:line."""


@dataclass
class Expander:
    """Preprocesses the lines of one configuration (definitions carry across included files)."""

    config_id: str
    error: Callable[[str, int, str], None]  # (file, line number, message)
    definitions: dict[str, str] = field(default_factory=dict)
    pwd: str = "."

    def lines(self, physical: list[str], path: str) -> Iterator[tuple[int, str]]:
        pwd = os.path.dirname(os.path.abspath(path))
        i = 0
        while i < len(physical):
            number = i + 1
            i += 1
            text = self._conditional(physical[i - 1])
            if text is None:
                continue
            match = DEFINITION.match(text)
            if match:
                name, value = match.group(1), match.group(2)
                if value.strip() == "\\":
                    # Multi-line definition: every following line ending in `\` belongs to it, plus one more.
                    body = []
                    while i < len(physical):
                        part = physical[i]
                        i += 1
                        if part.rstrip().endswith("\\"):
                            body.append(part.rstrip()[:-1])
                        else:
                            body.append(part)
                            break
                    self.definitions[name] = "\n".join(body)
                else:
                    self.definitions[name] = value.strip()
                continue
            self.pwd = pwd  # an include read in between may have changed it
            try:
                for expanded in self._expand_line(text, number):
                    yield number, expanded
            except ExpandError as exc:
                self.error(path, number, str(exc))

    def _conditional(self, text: str) -> str | None:
        match = CONDITIONAL.match(text)
        if match is None:
            return text
        negate, word, rest = match.groups()
        return rest if (word == self.config_id) != bool(negate) else None

    def _expand_line(self, text: str, number: int) -> Iterator[str]:
        if "$" not in text and "~" not in text:
            yield text
            return
        seq = SEQ.match(text)
        if seq:
            yield from self._sequence(text, seq, number)
            return
        substituted = self.substitute(text, number)
        if substituted == text:
            yield text
            return
        for physical in substituted.split("\n"):
            # A definition may hold conditional lines, further definitions or sequences.
            line = self._conditional(physical)
            if line is None:
                continue
            match = DEFINITION.match(line)
            if match:
                self.definitions[match.group(1)] = match.group(2).strip()
                continue
            if SEQ.match(line):
                yield from self._expand_line(line, number)
            else:
                yield line

    def substitute(self, text: str, number: int, depth: int = 0) -> str:
        if depth > MAX_EXPANSION_DEPTH:
            raise ExpandError(f"parameter substitution nests more than {MAX_EXPANSION_DEPTH} deep (a definition "
                              f"that uses itself?): check the $NAME definitions used on this line")

        def braced(m: re.Match[str]) -> str:
            return self._value(m.group(1), m.group(2).split(), m.group(0))

        def bare(m: re.Match[str]) -> str:
            return self._value(m.group(1), [], m.group(0))

        result = BARE.sub(bare, BRACED.sub(braced, text))
        if result != text and "$" in result:
            return self.substitute(result, number, depth + 1)
        return result

    def _value(self, name: str, args: list[str], original: str) -> str:
        if name == "_PWD":
            return self.pwd
        if name == "_INSTANCE":
            return self.config_id
        if name == "_HASH":
            return "#"
        if name == "_BANG":
            return "!"
        if name == "_RANDOM":
            low = int(args[0]) if args else 0
            high = int(args[1]) if len(args) > 1 else 32767
            return str(random.randint(low, max(low, high)))
        return self.definitions.get(name, original)

    def _sequence(self, text: str, match: re.Match[str], number: int) -> Iterator[str]:
        close = text.find(")", match.end())
        if close < 0:
            raise ExpandError(f"~{match.group(1)}( has no closing ')': write `~SEQ(VAR, START, STEP, END) line`")
        args_text = text[match.end():close]
        rest = text[close + 1:]
        kind = match.group(1)
        if kind == "LST":
            bindings = _list_bindings(args_text)
        else:
            bindings = _seq_bindings(args_text, hexadecimal=kind == "SEQx")
        produced = 0
        saved = dict(self.definitions)
        for binding in bindings:
            self.definitions.update(binding)
            for line in self._expand_line(rest, number):
                produced += 1
                if produced > MAX_EXPANDED_LINES:
                    raise ExpandError(f"~{kind} produces more than {MAX_EXPANDED_LINES:,} lines: shorten the range")
                yield line
        self.definitions = saved


def _number(text: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise ExpandError(f"'{text.strip()}' in ~SEQ is not a whole number (decimal or 0x hexadecimal)") from None


def _seq_bindings(args_text: str, hexadecimal: bool) -> Iterator[dict[str, str]]:
    parts = [p.strip() for p in args_text.split(",")]
    if not 2 <= len(parts) <= 4 or not re.fullmatch(NAME, parts[0]):
        raise ExpandError("~SEQ takes (VAR, END), (VAR, START, END) or (VAR, START, STEP, END)")
    var = parts[0]
    numbers = [_number(p) for p in parts[1:]]
    if len(numbers) == 1:
        end = numbers[0]
        start = 1 if end > 0 else -1
        step = 1 if end >= start else -1
    elif len(numbers) == 2:
        start, end = numbers
        step = 1 if end >= start else -1
    else:
        start, step, end = numbers
    if step == 0:
        raise ExpandError("~SEQ step 0 never reaches the end: use a step of 1 or more (or negative to count down)")
    value = start
    while (step > 0 and value <= end) or (step < 0 and value >= end):
        yield {var: format(value, "x") if hexadecimal else str(value)}
        value += step


def _list_bindings(args_text: str) -> Iterator[dict[str, str]]:
    groups = re.findall(r"\{([^}]*)\}|([^,{}]+)", args_text)
    items = [[v.strip() for v in (braced or plain).split(",")] for braced, plain in groups
             if (braced or plain).strip()]
    if len(items) < 2:
        raise ExpandError("~LST takes (VAR, V1, V2, ...) or ({VAR1, VAR2}, {V1, W1}, ...)")
    names, values = items[0], items[1:]
    for value in values:
        if len(value) != len(names):
            raise ExpandError(f"~LST entry {{{', '.join(value)}}} does not have one value per variable "
                              f"({', '.join(names)})")
        yield dict(zip(names, value, strict=True))
