"""Command line: `vrrptui CONF`, `--check`, `--headless`, `status`, `sniff`, `lab`.

Each mode lives in its own module and is imported only when used, so `--check`
and `--headless` never load textual.
"""

from __future__ import annotations

import sys

USAGE = """\
usage: vrrptui CONF                      console: the VRRP engine with a live view
       vrrptui --check CONF [--keys FILE]
                                         check a keepalived.conf (like keepalived -t) and a keys file
       vrrptui --headless CONF [--log-detail]
                                         run the engine in the foreground (like keepalived -n -l)
       vrrptui status [--json]           ask a running vrrptui what it is doing
       vrrptui sniff IFACE               passive console: every VRRP router on a segment
       vrrptui lab up|down|status [--peer vrrptui|keepalived]
                                         the DENT demo topology in network namespaces
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from vrrptui import __version__

        print(f"vrrptui {__version__}")
        return 0
    if "--check" in args or "-t" in args:
        from vrrptui.config.check import main as check_main

        rest, keys = _take_keys([a for a in args if a not in ("--check", "-t")])
        code = check_main(rest)
        return code or (_check_keys(keys) if keys else 0)
    if "--headless" in args:
        from vrrptui.daemon.headless import main as headless_main

        return headless_main([a for a in args if a != "--headless"])
    if args[0] == "status":
        from vrrptui.daemon.control import status_main

        return status_main(args[1:])
    if args[0] == "sniff":
        from vrrptui.console.app import sniff_main

        return sniff_main(args[1:])
    if args[0] == "lab":
        from vrrptui.lab.cli import main as lab_main

        return lab_main(args[1:])
    from vrrptui.console.app import console_main

    return console_main(args)


def _take_keys(args: list[str]) -> tuple[list[str], str | None]:
    """`--keys FILE` / `--keys=FILE` taken out of args: --check checks the keys file as well."""
    rest: list[str] = []
    keys = None
    it = iter(args)
    for arg in it:
        if arg == "--keys":
            keys = next(it, "")
        elif arg.startswith("--keys="):
            keys = arg.partition("=")[2]
        else:
            rest.append(arg)
    return rest, keys


def _check_keys(path: str) -> int:
    """The keys file checked exactly as the console would, before it starts."""
    import argparse
    from pathlib import Path

    from vrrptui.console.app import VrrpConsole, _keymap
    from vrrptui.console.keys import KeymapError

    try:
        _keymap(argparse.Namespace(keys=Path(path)), VrrpConsole)
    except KeymapError as exc:
        print(f"vrrptui: {exc}", file=sys.stderr)
        return 1
    print(f"Keys OK ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
