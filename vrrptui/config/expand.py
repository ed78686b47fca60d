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

Expansion can multiply a small file many times over (a definition that doubles at each level,
a long ~SEQ), so it is bounded like the file itself: each expanded line, and the lines, text
and ~SEQ/~LST steps of the whole configuration. Sizes are checked while the text is built,
so an expansion that would exceed them stops before it uses the time or memory.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
DEFINITION = re.compile(rf"^\s*\$({NAME})=(.*)$")
BRACED = re.compile(rf"\$\{{({NAME})((?:\s+[0-9]+){{0,2}})\}}")
BARE = re.compile(rf"\$({NAME})(?=\s|$)")
CONDITIONAL = re.compile(r"^\s*@(\^?)(\S*)\s*(.*)$", re.DOTALL)
SEQ = re.compile(r"^\s*~(SEQx?|LST)\(")
MAX_EXPANSION_DEPTH = 32  # a parameter whose value names itself stops here; ~SEQ/~LST nest at most this deep
MAX_LINE_LENGTH = 8192  # characters in an expanded line: the same as in a line of the file (tokens.py)
# For the whole configuration, includes and all: keepalived's own example makes 65,024 instances.
MAX_EXPANDED_LINES = 1_000_000  # lines made by expanding definitions and sequences
MAX_EXPANDED_BYTES = 16 * 1024 * 1024  # text made by expansion: the size the files may have (tokens.py)
MAX_SEQUENCE_STEPS = 1_000_000  # steps of all ~SEQ and ~LST, nested ones included (a step may make no line)
MAX_NUMBER_CHARS = 20  # a number of ~SEQ or ${_RANDOM}: 64 bits in decimal or 0x hexadecimal, with a sign


def default_config_id() -> str:
    """keepalived: the first part of the node name as returned by uname."""
    return os.uname().nodename.split(".")[0]


class ExpandError(Exception):
    """A line keepalived would refuse; carries the message for file:line."""


class OverBudget(ExpandError):
    """A limit for the whole configuration is reached: said once, and nothing more is expanded."""


@dataclass
class Expander:
    """Preprocesses the lines of one configuration (definitions carry across included files)."""

    config_id: str
    error: Callable[[str, int, str], None]  # (file, line number, message)
    definitions: dict[str, str] = field(default_factory=dict)
    pwd: str = "."
    # What expansion has made so far in this configuration, against the MAX_ limits above.
    expanded_lines: int = field(default=0, init=False)
    expanded_bytes: int = field(default=0, init=False)
    sequence_steps: int = field(default=0, init=False)
    over_budget: bool = field(default=False, init=False)

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
            if "$" not in text and "~" not in text:
                yield number, text  # nothing to expand
                continue
            if self.over_budget:
                continue  # the limit was reported at its line; expanding more would only repeat it
            self.pwd = pwd  # an include read in between may have changed it
            try:
                for expanded in self._expand_line(text, number):
                    self._count_line(expanded)
                    yield number, expanded
            except ExpandError as exc:
                self.error(path, number, str(exc))
                self.over_budget = self.over_budget or isinstance(exc, OverBudget)

    def _conditional(self, text: str) -> str | None:
        match = CONDITIONAL.match(text)
        if match is None:
            return text
        negate, word, rest = match.groups()
        return rest if (word == self.config_id) != bool(negate) else None

    def _count_line(self, line: str) -> None:
        self.expanded_lines += 1
        self.expanded_bytes += len(line) + 1
        if self.expanded_lines > MAX_EXPANDED_LINES:
            raise OverBudget(f"expansion makes more than {MAX_EXPANDED_LINES:,} lines in the configuration: "
                             f"shorten the ~SEQ ranges or the definitions used")
        if self.expanded_bytes > MAX_EXPANDED_BYTES:
            raise OverBudget(f"expansion makes more than {MAX_EXPANDED_BYTES // 2**20} MiB of text in the "
                             f"configuration: shorten the ~SEQ ranges or the definitions used")

    def _expand_line(self, text: str, number: int, nesting: int = 0) -> Iterator[str]:
        if "$" not in text and "~" not in text:
            yield text
            return
        seq = SEQ.match(text)
        if seq:
            yield from self._sequence(text, seq, number, nesting)
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
                yield from self._expand_line(line, number, nesting)
            else:
                yield line

    def substitute(self, text: str, number: int, depth: int = 0) -> str:
        if depth > MAX_EXPANSION_DEPTH:
            raise ExpandError(f"parameter substitution nests more than {MAX_EXPANSION_DEPTH} deep (a definition "
                              f"that uses itself?): check the $NAME definitions used on this line")

        result = self._replace(BARE, self._replace(BRACED, text))
        if result != text and "$" in result:
            return self.substitute(result, number, depth + 1)
        return result

    def _replace(self, pattern: re.Pattern[str], text: str) -> str:
        """`pattern.sub` with the parameters' values, stopping as soon as the result grows too big."""
        output = _Output(MAX_EXPANDED_BYTES - self.expanded_bytes)
        end, name = 0, ""
        for m in pattern.finditer(text):
            name = m.group(1)
            args = m.group(2).split() if pattern.groups > 1 else []
            output.add(text[end:m.start()], name)
            output.add(self._value(name, args, m.group(0)), name)
            end = m.end()
        if not name:
            return text  # nothing to replace
        output.add(text[end:], name)
        return "".join(output.pieces)

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
            if any(len(arg) > MAX_NUMBER_CHARS for arg in args):
                raise ExpandError(f"the numbers of ${{_RANDOM MIN MAX}} have at most {MAX_NUMBER_CHARS} digits: "
                                  f"use smaller bounds")
            low = int(args[0]) if args else 0
            high = int(args[1]) if len(args) > 1 else 32767
            return str(random.randint(low, max(low, high)))
        return self.definitions.get(name, original)

    def _sequence(self, text: str, match: re.Match[str], number: int, nesting: int) -> Iterator[str]:
        kind = match.group(1)
        if nesting >= MAX_EXPANSION_DEPTH:
            raise ExpandError(f"~SEQ and ~LST nest more than {MAX_EXPANSION_DEPTH} deep on this line: "
                              f"use fewer of them")
        close = text.find(")", match.end())
        if close < 0:
            raise ExpandError(f"~{kind}( has no closing ')': write `~SEQ(VAR, START, STEP, END) line`")
        args_text = text[match.end():close]
        rest = text[close + 1:]
        bindings: Iterable[dict[str, str]]
        if kind == "LST":
            bindings = _list_bindings(args_text)
            self._count_steps(kind, len(bindings))
        else:
            var, start, step, end = _seq_arguments(args_text)
            # Counted before the first step: a range far too long is refused at once, whatever it makes.
            self._count_steps(kind, max(0, (end - start) // step + 1))
            bindings = _seq_bindings(var, start, step, end, hexadecimal=kind == "SEQx")
        saved = dict(self.definitions)
        for binding in bindings:
            self.definitions.update(binding)
            yield from self._expand_line(rest, number, nesting + 1)
        self.definitions = saved

    def _count_steps(self, kind: str, steps: int) -> None:
        self.sequence_steps += steps
        if self.sequence_steps > MAX_SEQUENCE_STEPS:
            raise OverBudget(f"~{kind} takes {steps:,} steps, and the ~SEQ and ~LST steps of the configuration may "
                             f"be at most {MAX_SEQUENCE_STEPS:,} in all: shorten the range")


class _Output:
    """The pieces of a substitution's result, with its size checked as each piece is added,
    so that a definition that names itself or doubles at each level stops before the text is built."""

    def __init__(self, max_size: int) -> None:
        self.pieces: list[str] = []
        self.size = 0
        self.max_size = max_size
        self.line = 0  # characters of the last line so far

    def add(self, piece: str, name: str) -> None:
        first = piece.find("\n")
        joined = self.line + (len(piece) if first < 0 else first)  # the line that `piece` continues
        self.line = joined if first < 0 else len(piece) - piece.rfind("\n") - 1
        # A line inside `piece` is a line of a definition, already no longer than a line may be.
        if joined > MAX_LINE_LENGTH or self.line > MAX_LINE_LENGTH:
            raise ExpandError(f"expanding ${name} makes a line longer than {MAX_LINE_LENGTH:,} characters (a "
                              f"definition that names itself, or doubles at each level?): shorten the definitions "
                              f"used on this line")
        self.size += len(piece)
        if self.size > self.max_size:
            raise OverBudget(f"expanding ${name} makes more than {MAX_EXPANDED_BYTES // 2**20} MiB of text in the "
                             f"configuration: shorten the ~SEQ ranges or the definitions used")
        self.pieces.append(piece)


def _number(text: str) -> int:
    text = text.strip()
    if len(text) > MAX_NUMBER_CHARS:  # also keeps int() and str() from working on thousands of digits
        raise ExpandError(f"'{text[:MAX_NUMBER_CHARS]}...' in ~SEQ is longer than a number may be "
                          f"({MAX_NUMBER_CHARS} characters): a sequence has at most {MAX_SEQUENCE_STEPS:,} steps, "
                          f"use smaller bounds")
    try:
        return int(text, 0)
    except ValueError:
        raise ExpandError(f"'{text}' in ~SEQ is not a whole number (decimal or 0x hexadecimal)") from None


def _seq_arguments(args_text: str) -> tuple[str, int, int, int]:
    """(VAR, START, STEP, END) of a ~SEQ, with keepalived's defaults for those left out."""
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
    return var, start, step, end


def _seq_bindings(var: str, start: int, step: int, end: int, hexadecimal: bool) -> Iterator[dict[str, str]]:
    value = start
    while (step > 0 and value <= end) or (step < 0 and value >= end):
        yield {var: format(value, "x") if hexadecimal else str(value)}
        value += step


def _list_bindings(args_text: str) -> list[dict[str, str]]:
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
    return [dict(zip(names, value, strict=True)) for value in values]
