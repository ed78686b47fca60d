"""keepalived.conf structure: tokens -> a tree of statements.

A statement is a keyword, the values on the same line, and optionally a
`{ ... }` block (its `{` on the same line or the next). Inside a block,
statements end at the end of a line or at a brace, so `unicast_peer { 10.0.0.1 }`
works. Unbalanced braces are reported at the line of the brace at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vrrptui.config.model import Diagnostic
from vrrptui.config.tokens import Token

MAX_BLOCK_DEPTH = 16  # nested `{ }` levels; real configurations use 4 at most


@dataclass(slots=True)
class Statement:
    keyword: Token
    values: list[Token] = field(default_factory=list)
    block: list[Statement] | None = None  # None: no `{ }` after the keyword

    @property
    def name(self) -> str:
        return self.keyword.text

    @property
    def file(self) -> str:
        return self.keyword.file

    @property
    def line(self) -> int:
        return self.keyword.line

    def words(self) -> list[str]:
        return [t.text for t in self.values]


class BlockReader:
    """Recursive reader over the token list; appends brace errors to `diagnostics`."""

    def __init__(self, tokens: list[Token], diagnostics: list[Diagnostic], indents: dict[int, int]):
        self.tokens = tokens
        self.pos = 0
        self.diagnostics = diagnostics
        self.indents = indents  # row -> column of the line's first token
        # `}` tokens indented left of the statement they close: the likely place a `}` went missing.
        self.suspect_openers: list[Statement] = []
        self.unclosed_reported = False
        self.depth = 0

    def read(self) -> list[Statement]:
        statements = self._read_block(opener=None)
        return statements

    def _error(self, token: Token, message: str) -> None:
        self.diagnostics.append(Diagnostic(token.file, token.line, "error", message))

    def _warning(self, token: Token, message: str) -> None:
        self.diagnostics.append(Diagnostic(token.file, token.line, "warning", message))

    def _peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _read_block(self, opener: Statement | None) -> list[Statement]:
        if opener is not None and self.depth >= MAX_BLOCK_DEPTH:
            self._error(opener.keyword, f"blocks nest more than {MAX_BLOCK_DEPTH} deep here (real configurations use "
                                        f"4 at most): remove the extra '{{'")
            self._skip_block()
            return []
        self.depth += 1
        try:
            return self._read_block_body(opener)
        finally:
            self.depth -= 1

    def _skip_block(self) -> None:
        """Past the `}` that closes the block just opened, without recursion."""
        level = 1
        while level and (token := self._peek()) is not None:
            self.pos += 1
            level += 1 if token.is_brace("{") else -1 if token.is_brace("}") else 0

    def _read_block_body(self, opener: Statement | None) -> list[Statement]:
        statements: list[Statement] = []
        while (token := self._peek()) is not None:
            if token.is_brace("}"):
                self.pos += 1
                if opener is None:
                    self._warning(token, "unexpected '}': it closes no block; keepalived ignores it (\"Extra '}' "
                                         "found\"): remove it or add the missing '{'")
                    continue
                if token.column < self.indents.get(opener.keyword.row, 0) and token.file == opener.file:
                    self.suspect_openers.append(opener)
                return statements
            if token.is_brace("{"):
                self.pos += 1
                self._error(token, "'{' without a keyword before it; write `keyword {`")
                self._read_block(Statement(token))
                continue
            statements.append(self._read_statement(opener))
        if opener is not None:
            self._report_unclosed(opener)
        return statements

    def _read_statement(self, opener: Statement | None) -> Statement:
        keyword = self.tokens[self.pos]
        self.pos += 1
        statement = Statement(keyword)
        while (token := self._peek()) is not None and token.row == keyword.row:
            if token.is_brace("{") or token.is_brace("}"):
                break
            statement.values.append(token)
            self.pos += 1
        token = self._peek()
        if token is not None and token.is_brace("{") and token.file == keyword.file:
            self.pos += 1
            statement.block = self._read_block(statement)
        return statement

    def _report_unclosed(self, innermost: Statement) -> None:
        """keepalived reads the rest of the configuration into the unclosed block and runs ("There are N
        missing '}'s"); so does vrrptui, warning once at the likely culprit."""
        if self.unclosed_reported:
            return
        self.unclosed_reported = True
        # A missing `}` usually shows as a later `}` indented like an outer block.
        culprit = self.suspect_openers[0] if self.suspect_openers else innermost
        self._warning(
            culprit.keyword,
            f"'{{' of '{culprit.name}' is never closed: keepalived reads everything after it, to the end of the "
            f"configuration, as part of this block (its keywords are ignored elsewhere); add '}}' at the end of "
            f"the '{culprit.name}' block",
        )


def read_statements(tokens: list[Token], diagnostics: list[Diagnostic]) -> list[Statement]:
    indents: dict[int, int] = {}
    for token in tokens:
        indents.setdefault(token.row, token.column)
    return BlockReader(tokens, diagnostics, indents).read()
