"""`python -P -m vrrptui.daemon.loader PATH [CONFIG_ID]`: parse a config for a reload, in a process of its own.

The running daemon's event loop keeps its cadence while a big config (or a slow include
tree) is read, and what the parser allocates goes away with this process. Writes one
pickle to stdout: ("ok", Config) or ("error", the errors as `file:line: error: ...` lines).
"""

from __future__ import annotations

import pickle
import sys

from vrrptui.daemon.preflight import PreflightError, load_config, use_config_id


def main(argv: list[str]) -> int:
    path = argv[0]
    use_config_id(argv[1] if len(argv) > 1 else None)  # the daemon's -i
    try:
        result: tuple[str, object] = ("ok", load_config(path))
    except PreflightError as exc:
        result = ("error", str(exc))
    except Exception as exc:  # a parser bug: the daemon keeps its configuration and says why
        result = ("error", f"{path}: error: cannot read the configuration: {exc!r}")
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
