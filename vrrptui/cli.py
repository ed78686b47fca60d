"""Command line: `vrrptui CONF`, `--check`, keepalived's daemon options, `status`, `sniff`, `lab`.

Each mode lives in its own module and is imported only when used, so `--check` and the
daemon never load textual. Every subcommand has `--help`.
"""

import sys

TYPE_CHECKING = False  # neither typing nor collections.abc before a restart's clean-up (mypy reads True)
if TYPE_CHECKING:
    from collections.abc import Callable

USAGE = """\
usage: vrrptui CONF                      console: the VRRP engine with a live view
       vrrptui --check [--strict] [-i ID] CONF [--keys FILE]
                                         check a keepalived.conf and show what would run (and a keys file)
       vrrptui [-n] [-l] [-D] [-f CONF] [-p PIDFILE] [-r VRRP_PIDFILE] [-i CONFIG_ID] [-t]
               [--metrics ADDR:PORT] ...
                                         the daemon, with keepalived's options (`vrrptui -h` lists them)
       vrrptui --headless CONF           the daemon in the foreground, logging to stdout (-n -l)
       vrrptui status [IFACE] [VRID] [--json]
                                         ask running vrrptui daemons what they do
       vrrptui sniff IFACE               passive console: every VRRP router on a segment
       vrrptui replay FILE [--summary|--json] [--speed X]
                                         a tcpdump capture through the console; every failover in it
       vrrptui lab up|down|status [--peer vrrptui|keepalived]
                                         the DENT demo topology in network namespaces
       vrrptui lab peer stop|start|freeze|thaw
                                         drills on the lab's peer: resign, start, hang, resume
       vrrptui install-service           install the systemd unit (contrib/systemd/vrrptui.service)
Each command takes --help.
"""


def _status(args: list[str]) -> int:
    from vrrptui.daemon.control import status_main

    return status_main(args)


def _sniff(args: list[str]) -> int:
    from vrrptui.console.cli import sniff_main

    return sniff_main(args)


def _lab(args: list[str]) -> int:
    from vrrptui.lab.cli import main as lab_main

    return lab_main(args)


def _replay(args: list[str]) -> int:
    from vrrptui.replay.cli import main as replay_main

    return replay_main(args)


def _install_service(args: list[str]) -> int:
    from vrrptui.daemon.install import main as install_main

    return install_main(args)


SUBCOMMANDS: "dict[str, Callable[[list[str]], int]]" = {
    "status": _status,
    "sniff": _sniff,
    "lab": _lab,
    "replay": _replay,
    "install-service": _install_service,
}


def _mode(args: list[str]) -> str:
    """What ARGS ask for (main() runs it; before_site acts on "daemon" alone)."""
    if not args:
        return "usage"
    if args[0] in ("-h", "--help"):
        return "help"
    if args[0] in SUBCOMMANDS:
        return "subcommand"
    if "--check" in args:
        return "check"
    if args[0].startswith("-") or "--headless" in args:
        return "daemon"
    return "console"


_early_done = False


def before_site(args: list[str]) -> None:
    """What the daemon does first, once: the `vrrptui` command (bin/vrrptui) calls it before site has run.

    Signals that would kill it are ignored until its own handlers are in place (it reads the file as it
    starts): a SIGHUP (`systemctl reload` too early, a config tool) or a SIGUSR1/SIGUSR2 (a dump asked for).
    Then a killed run's VIPs go (daemon/stale.py): before site, asyncio, argparse and the config parse.
    """
    global _early_done
    if _early_done or _mode(args) != "daemon":
        return
    import _signal  # type: ignore[import-not-found]  # built in; signal.py imports enum (~1 ms)

    for sig in (_signal.SIGHUP, _signal.SIGUSR1, _signal.SIGUSR2):
        _signal.signal(sig, _signal.SIG_IGN)
    from vrrptui.daemon.stale import clean_up_early

    _early_done = clean_up_early(args)  # False: it needs site first (main() calls again once site has run)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    mode = _mode(args)
    if mode == "usage":
        print(USAGE, end="", file=sys.stderr)
        return 2
    if mode == "help":
        from vrrptui.daemon.cmdline import build_parser

        print(USAGE)
        build_parser().print_help()
        return 0
    if mode == "subcommand":
        return SUBCOMMANDS[args[0]](args[1:])
    if mode == "check":
        from vrrptui.config.check import main as check_main

        rest, keys = _take_keys([a for a in args if a != "--check"])
        code = check_main(rest)
        return code or (_check_keys(keys) if keys else 0)
    if mode == "daemon":
        before_site(args)  # done already when the `vrrptui` command started it
        from vrrptui.daemon.notls import import_asyncio

        import_asyncio()  # before any other daemon module: without ssl, which the daemon never uses
        from vrrptui.daemon.service import main as service_main

        return service_main(args)
    from vrrptui.console.cli import console_main

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

    from vrrptui.console.app import VrrpConsole
    from vrrptui.console.cli import _keymap
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
