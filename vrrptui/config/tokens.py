"""keepalived.conf lexing: files -> tokens with their file and line, includes expanded.

keepalived reads its configuration line by line: a keyword takes the rest of its
line as values, `!` and `#` start a comment anywhere outside double quotes, and
`include PATTERN` on its own line splices in every file the glob matches
(relative to the including file's directory).
"""

from __future__ import annotations

import glob
import os
import re
import stat
from collections.abc import Iterator
from itertools import pairwise
from dataclasses import dataclass

from vrrptui.config.expand import Expander, default_config_id
from vrrptui.config.model import Diagnostic

COMMENT_CHARS = "!#"
SPACE = " \t\v\f\r"  # what C's isspace() splits keepalived's words at: not a no-break or other Unicode space
QUOTES = "\"'"
BRACES = "{}"
# Limits (checked before anything starts): far above any real configuration, low enough that a hostile or
# broken file cannot hang or exhaust the checker or the daemon.
# `include` and its variants (which add checks keepalived reports as config errors; vrrptui warns alike)
INCLUDES = {"include", "includer", "includem", "includew", "includeb", "includea"}
MAX_INCLUDE_DEPTH = 8  # levels of include below the main file
MAX_FILES = 1000  # files read, main file included (a file included twice counts twice)
MAX_TOTAL_BYTES = 16 * 1024 * 1024  # all files together
MAX_LINE_LENGTH = 8192  # characters in one line
MAX_WORDS = 1_000_000  # words and braces in all files together, expanded lines included (~150 bytes each in memory)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
NOT_UTF8 = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, as surrogateescape decodes it


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    file: str
    line: int
    column: int  # 0-based; the block reader compares it with indentation
    quoted: bool = False
    row: int = 0  # logical line (an expanded definition gives several rows the same file line)

    def is_brace(self, brace: str) -> bool:
        return not self.quoted and self.text == brace


def _include_pattern(words: list[Token]) -> str | None:
    """The one pattern after `include`: a word, or words and braces written without a space between them
    (`{a,b}.conf`, which the line splits at its braces); None when there are several or none."""
    if not words:
        return None
    for before, after in pairwise(words):
        if before.quoted or after.quoted or after.column != before.column + len(before.text):
            return None
    return "".join(word.text for word in words)


class _TooManyWords(Exception):
    """MAX_WORDS is reached: reported at its line, and nothing more is read."""


class Lexer:
    """Turns a main file (and what it includes) into tokens; collects diagnostics."""

    def __init__(self, config_id: str | None = None) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.files: list[str] = []
        self.rows = 0
        self.total_bytes = 0
        self.reads = 0  # files read, the same file included again counted again
        self.words = 0
        self.expander = Expander(config_id if config_id is not None else default_config_id(), self.error)

    def error(self, file: str, line: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(file, line, "error", message))

    def warning(self, file: str, line: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(file, line, "warning", message))

    def tokens(self, path: str) -> list[Token]:
        found: list[Token] = []
        try:
            found.extend(self._file_tokens(path, stack=()))
        except _TooManyWords:
            pass  # the tokens read so far give the other errors their lines; the configuration is refused
        return found

    def _read(self, path: str) -> str | None:
        """The file's text; None (with the error recorded) when a limit is exceeded."""
        # O_NONBLOCK: a FIFO given as the configuration must not hang the checker.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self.error(path, 0, "not a regular file (a FIFO, device or directory): give the path of the "
                                    "configuration file itself")
                return None
            if self.reads >= MAX_FILES:
                if self.reads == MAX_FILES:  # said once; no file is read after it
                    self.error(path, 0, f"more than {MAX_FILES} configuration files are included: reduce the includes")
                    self.reads += 1
                return None
            self.reads += 1
            data = f.read(MAX_TOTAL_BYTES - self.total_bytes + 1)
        self.total_bytes += len(data)
        if self.total_bytes > MAX_TOTAL_BYTES:
            self.error(path, 0, f"the configuration (with its includes) is over {MAX_TOTAL_BYTES // 2**20} MiB: "
                                f"vrrptui reads at most that much; split out or remove what is not needed")
            return None
        # a byte that is not UTF-8 stays itself (surrogateescape): a comment may hold it, a word may not (_split_line)
        return data.decode("utf-8", errors="surrogateescape")

    def _lines(self, text: str, path: str) -> list[str]:
        """Physical lines (LF or CRLF); over-long lines and control bytes are errors (the line is dropped)."""
        lines = text.split("\n")
        for number, line in enumerate(lines, start=1):
            line = line[:-1] if line.endswith("\r") else line
            if len(line) > MAX_LINE_LENGTH:
                self.error(path, number, f"line is {len(line):,} characters long, over the limit of "
                                         f"{MAX_LINE_LENGTH:,}: shorten it")
                line = ""
            elif (bad := CONTROL.search(line)) is not None:
                self.error(path, number, f"control byte 0x{ord(bad.group(0)):02x} at column {bad.start() + 1}: "
                                         f"remove it (keepalived.conf is text)")
                line = ""
            lines[number - 1] = line
        return lines

    def _file_tokens(self, path: str, stack: tuple[str, ...]) -> Iterator[Token]:
        text = self._read(path)
        if text is None:
            return
        if path not in self.files:
            self.files.append(path)
        stack = stack + (os.path.realpath(path),)
        for number, raw in self.expander.lines(self._lines(text, path), path):
            self.rows += 1
            line_tokens = self._split_line(raw, path, number)
            self.words += len(line_tokens)
            if self.words > MAX_WORDS:
                self.error(path, number, f"the configuration (with its includes and expansions) has over "
                                         f"{MAX_WORDS:,} words: vrrptui reads at most that many; split out or "
                                         f"remove what is not needed")
                raise _TooManyWords
            if line_tokens and line_tokens[0].text in INCLUDES and not line_tokens[0].quoted:
                yield from self._include(line_tokens, path, number, stack)
            else:
                yield from line_tokens

    def _include(self, line_tokens: list[Token], path: str, number: int, stack: tuple[str, ...]) -> Iterator[Token]:
        written = _include_pattern(line_tokens[1:])
        if written is None:
            self.error(path, number, "include takes one file name or glob, e.g. `include conf.d/*.conf` "
                                     "or `include {a,b}.conf`")
            return
        pattern = written if os.path.isabs(written) else os.path.join(os.path.dirname(path), written)
        try:
            # each alternative's files in turn, as glob(GLOB_BRACE) lists them: `{b,a}.conf` reads b.conf first
            matches = [m for p in expand_braces(pattern) for m in sorted(glob.glob(p)) if os.path.isfile(m)]
        except (ValueError, RecursionError) as exc:  # RecursionError: glob walks a level per wildcard part
            why = exc if isinstance(exc, ValueError) else "too many wildcard levels"
            self.error(path, number, f"include '{written}' cannot be expanded ({why}): name the files more plainly")
            return
        if not matches:
            # keepalived carries on when an include matches nothing; so do we, loudly.
            self.warning(path, number, f"include '{written}' matches no file (looked for {pattern})")
            return
        for match in matches:
            if os.path.realpath(match) in stack:
                self.error(path, number, f"include loop: '{match}' is already being read; remove the circular include")
                continue
            if len(stack) > MAX_INCLUDE_DEPTH:
                self.error(path, number, f"includes nest more than {MAX_INCLUDE_DEPTH} levels deep: '{match}' is not "
                                         f"read; include the files from fewer levels")
                return
            try:
                yield from self._file_tokens(match, stack)
            except OSError as exc:
                self.error(path, number, f"cannot read included file '{match}': {exc.strerror}")

    def _split_line(self, raw: str, path: str, number: int) -> list[Token]:
        """Split one line into words and braces as keepalived does; drop the comment.

        `"` and `'` quote (and are removed); a quoted part may sit inside a word
        (`abc" d "e` is one word `abc d e`) and takes escapes; `#` and `!` outside
        quotes start a comment, `\\#` and `\\!` outside quotes are literal.
        """
        tokens: list[Token] = []
        i, n = 0, len(raw)
        while i < n:
            ch = raw[i]
            if ch in SPACE:
                i += 1
            elif ch in COMMENT_CHARS:
                break
            elif ch in BRACES:
                tokens.append(Token(ch, path, number, i, row=self.rows))
                i += 1
            else:
                start = i
                word: list[str] = []
                quoted = False
                while i < n and raw[i] not in SPACE and raw[i] not in BRACES and raw[i] not in COMMENT_CHARS:
                    if raw[i] in QUOTES:
                        quoted = True
                        i = self._quoted(raw, i, word, path, number)
                        continue
                    if raw[i] == "\\" and i + 1 < n and raw[i + 1] in COMMENT_CHARS:
                        i += 1  # keepalived: `\\#` and `\\!` are literal outside quotes
                    word.append(raw[i])
                    i += 1
                value = "".join(word)
                if (bad := NOT_UTF8.search(raw, start, i)) is not None:
                    self.error(path, number, f"byte 0x{ord(bad.group(0)) - 0xDC00:02x} at column {bad.start() + 1} is "
                                             f"not UTF-8: save the file as UTF-8 (keepalived.conf is text)")
                    value = NOT_UTF8.sub("\ufffd", value)  # refused already: nothing downstream sees the byte
                tokens.append(Token(value, path, number, start, quoted=quoted, row=self.rows))
                if i < n and raw[i] in COMMENT_CHARS:
                    # keepalived cuts the line here too, which silently shortens e.g. a password.
                    self.warning(
                        path,
                        number,
                        f"'{raw[i]}' starts a comment in the middle of '{raw[start:].split()[0]}': "
                        f"the value is '{value}'; write '\\{raw[i]}' or quote the value if the "
                        f"'{raw[i]}' belongs to it",
                    )
        return tokens

    def _quoted(self, raw: str, i: int, word: list[str], path: str, number: int) -> int:
        """Append the quoted part starting at raw[i] (a quote) to `word`; return the index after it."""
        quote, i, n = raw[i], i + 1, len(raw)
        while i < n and raw[i] != quote:
            if raw[i] == "\\" and i + 1 < n:
                start = i
                text, i = unescape(raw, i + 1)
                if text == "\0":  # a path or argument cannot hold it; keepalived's string would end there
                    self.error(path, number, f"'{raw[start:i]}' at column {start + 1} is a NUL byte, which ends a "
                                             f"string in keepalived and cannot be in a path or argument: remove it")
                    continue
                word.append(text)
                continue
            word.append(raw[i])
            i += 1
        if i >= n:
            self.error(path, number, f"unterminated quoted string: add the closing `{quote}`")
        return i + 1


ESCAPES = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
OCTAL = re.compile(r"[0-7]{1,3}")
HEX = re.compile(r"[0-9A-Fa-f]+")


def unescape(raw: str, i: int) -> tuple[str, int]:
    """keepalived.conf(5) escapes in quoted strings: raw[i] follows the backslash."""
    ch = raw[i]
    if ch in ESCAPES:
        return ESCAPES[ch], i + 1
    if (m := OCTAL.match(raw, i)) is not None:
        return chr(int(m.group(0), 8) & 0xFF), m.end()
    if ch == "x" and (m := HEX.match(raw, i + 1)) is not None:
        return chr(int(m.group(0)[-2:], 16)), m.end()
    if ch == "c" and i + 1 < len(raw):
        nxt = raw[i + 1]  # an ASCII letter is upper-cased as keepalived's toupper(); `ß`.upper() is two letters
        return chr(ord(nxt.upper() if nxt.isascii() else nxt) ^ 0x40), i + 2
    return ch, i + 1


MAX_INCLUDE_PATTERNS = 1000  # `{a,b}` alternatives of one include line, after expansion


def expand_braces(pattern: str) -> list[str]:
    """csh brace expansion, as keepalived's glob (GLOB_BRACE) does: `{a,b}.conf` -> a.conf b.conf, nested
    `{a,b{1,2}}` too; a brace with no comma, or not closed, stays as written. ValueError past
    MAX_INCLUDE_PATTERNS patterns."""
    done: list[str] = []
    todo = [pattern]
    while todo:
        current = todo.pop()
        parts = _first_brace(current)
        if parts is None:
            done.append(current)
        else:
            head, alternatives, tail = parts
            todo.extend(head + alt + tail for alt in reversed(alternatives))
        if len(done) + len(todo) > MAX_INCLUDE_PATTERNS:
            raise ValueError(f"more than {MAX_INCLUDE_PATTERNS} file patterns")
    return done


def _first_brace(pattern: str) -> tuple[str, list[str], str] | None:
    """The first `{...}` holding a top-level comma: (before it, its alternatives, after it)."""
    for start, ch in enumerate(pattern):
        if ch != "{":
            continue
        depth, cuts = 0, [start]
        for i in range(start, len(pattern)):
            if pattern[i] == "{":
                depth += 1
            elif pattern[i] == "}":
                depth -= 1
                if depth == 0:
                    if len(cuts) == 1:
                        break  # `{x}`: no alternatives, literal
                    cuts.append(i)
                    alternatives = [pattern[a + 1:b] for a, b in pairwise(cuts)]
                    return pattern[:start], alternatives, pattern[i + 1:]
            elif pattern[i] == "," and depth == 1:
                cuts.append(i)
    return None
