"""What keeps the control socket safe: a trusted directory, a socket created without a race,
and requests that are small, shallow and finite before json.loads sees them.

The socket moves VIPs as root, so everything here fails closed: a directory another user
owns or may write to is refused (it could swap our socket, forge a status with escape
sequences, or capture a root command), and a request that could exhaust the parser
(30,000 `[`, `1e400`, `NaN`) is answered with an error instead of reaching it.
"""

from __future__ import annotations

import json
import math
import os
import socket
from pathlib import Path
from typing import Any

from vrrptui.config.model import shown

MAX_REQUEST = 4096  # bytes per request line
MAX_DEPTH = 4  # nesting of objects/arrays in a request (every request is one flat object)
MAX_CLIENTS = 16  # connections served at once; more are answered with an error and closed
IDLE_TIMEOUT = 10.0  # seconds a client may stay connected without sending a full request


def bind_private(path: Path) -> socket.socket:
    """A listening Unix socket at `path`, mode 0600 from its first moment.

    Bound under a temporary name with a umask that leaves only the owner's bits, then
    renamed over `path`: no other user can connect between bind and chmod, and a file
    planted at `path` is replaced, never followed.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        old = os.umask(0o177)
        try:
            sock.bind(str(tmp))
        finally:
            os.umask(old)
        os.rename(tmp, path)
        sock.listen(MAX_CLIENTS)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return sock


def _depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings (the request is at most MAX_REQUEST long)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number a request may carry")


def parse_request(line: bytes) -> dict[str, Any]:
    """One request line as a dict; ValueError (with the reason) for anything else."""
    if len(line) > MAX_REQUEST:
        raise ValueError(f"request longer than {MAX_REQUEST} bytes")
    text = line.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if _depth(text) > MAX_DEPTH:
        raise ValueError(f"request nested deeper than {MAX_DEPTH} levels")
    request = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object")
    return request


def printable(text: str) -> str:
    """`text` with control characters (terminal escape sequences) shown as \\xNN (config.model.shown); newlines kept."""
    return "\n".join(shown(line) for line in text.split("\n"))
