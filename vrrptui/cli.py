"""Command line: `vrrptui CONF`, `--check`, `--headless`, `status`, `sniff`, `lab`.

Each mode lives in its own module and is imported only when used, so `--check`
and `--headless` never load textual.
"""

from __future__ import annotations

import sys

USAGE = """\
usage: vrrptui CONF                      console: the VRRP engine with a live view
       vrrptui --check [--strict] [-i ID] CONF
                                         check a keepalived.conf (like keepalived -t)
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

        return check_main([a for a in args if a not in ("--check", "-t")])
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


if __name__ == "__main__":
    sys.exit(main())
