"""keepalived.conf lexing: files -> tokens with their file and line, includes expanded.

keepalived reads its configuration line by line: a keyword takes the rest of its
line as values, `!` and `#` start a comment anywhere outside double quotes, and
`include PATTERN` on its own line splices in every file the glob matches
(relative to the including file's directory).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass

from vrrptui.config.model import Diagnostic

COMMENT_CHARS = "!#"
BRACES = "{}"
MAX_INCLUDE_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    file: str
    line: int
    column: int  # 0-based; the block reader compares it with indentation
    quoted: bool = False

    def is_brace(self, brace: str) -> bool:
        return not self.quoted and self.text == brace


class Lexer:
    """Turns a main file (and what it includes) into tokens; collects diagnostics."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.files: list[str] = []

    def error(self, file: str, line: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(file, line, "error", message))

    def warning(self, file: str, line: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(file, line, "warning", message))

    def tokens(self, path: str) -> list[Token]:
        return list(self._file_tokens(path, stack=()))

    def _file_tokens(self, path: str, stack: tuple[str, ...]) -> Iterator[Token]:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if path not in self.files:
            self.files.append(path)
        stack = stack + (os.path.realpath(path),)
        for number, raw in enumerate(text.splitlines(), start=1):
            line_tokens = self._split_line(raw, path, number)
            if line_tokens and line_tokens[0].text == "include" and not line_tokens[0].quoted:
                yield from self._include(line_tokens, path, number, stack)
            else:
                yield from line_tokens

    def _include(self, line_tokens: list[Token], path: str, number: int, stack: tuple[str, ...]) -> Iterator[Token]:
        if len(line_tokens) != 2:
            self.error(path, number, "include takes one file name or glob, e.g. `include conf.d/*.conf`")
            return
        pattern = line_tokens[1].text
        if not os.path.isabs(pattern):
            pattern = os.path.join(os.path.dirname(path), pattern)
        matches = sorted(m for m in glob.glob(pattern) if os.path.isfile(m))
        if not matches:
            # keepalived carries on when an include matches nothing; so do we, loudly.
            self.warning(path, number, f"include '{line_tokens[1].text}' matches no file (looked for {pattern})")
            return
        for match in matches:
            if os.path.realpath(match) in stack or len(stack) >= MAX_INCLUDE_DEPTH:
                self.error(path, number, f"include loop: '{match}' is already being read; remove the circular include")
                continue
            try:
                yield from self._file_tokens(match, stack)
            except OSError as exc:
                self.error(path, number, f"cannot read included file '{match}': {exc.strerror}")

    def _split_line(self, raw: str, path: str, number: int) -> list[Token]:
        """Split one line into words, quoted strings and braces; drop the comment."""
        tokens: list[Token] = []
        i, n = 0, len(raw)
        while i < n:
            ch = raw[i]
            if ch.isspace():
                i += 1
            elif ch in COMMENT_CHARS:
                break
            elif ch in BRACES:
                tokens.append(Token(ch, path, number, i))
                i += 1
            elif ch == '"':
                end = raw.find('"', i + 1)
                if end < 0:
                    self.error(path, number, 'unterminated quoted string: add the closing `"`')
                    end = n
                tokens.append(Token(raw[i + 1 : end], path, number, i, quoted=True))
                i = end + 1
            else:
                start = i
                word: list[str] = []
                while (
                    i < n
                    and not raw[i].isspace()
                    and raw[i] not in BRACES
                    and raw[i] not in COMMENT_CHARS
                    and raw[i] != '"'
                ):
                    if raw[i] == "\\" and i + 1 < n and raw[i + 1] in COMMENT_CHARS:
                        i += 1  # keepalived: `\#` and `\!` are literal outside quotes
                    word.append(raw[i])
                    i += 1
                value = "".join(word)
                tokens.append(Token(value, path, number, start))
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
