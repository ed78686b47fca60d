"""`vrrptui --headless CONF [--log-detail] [--control PATH]`: the engine in the foreground.

Like `keepalived -n -l`: keepalived-2.x-worded log lines with its console timestamps on
stdout, `--log-detail` for what keepalived prints with -D. Root, the config and its
interfaces are checked before anything touches the network (exit 2 with one clear
message). SIGTERM/SIGINT resign and exit 0; SIGHUP reloads the config; SIGUSR1 / SIGUSR2
write /tmp/vrrptui.data / /tmp/vrrptui.stats like keepalived's dumps (daemon/dump.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from vrrptui import __version__
from vrrptui.daemon.logsink import ConsoleLog
from vrrptui.daemon.preflight import EXIT_USAGE, PreflightError, preflight


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"vrrptui --headless: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="vrrptui --headless", description="Run the VRRP engine in the foreground.")
    parser.add_argument("conf", metavar="CONF", help="keepalived.conf to run")
    parser.add_argument("--log-detail", "-D", action="store_true", help="detailed log lines (keepalived -D)")
    control = parser.add_mutually_exclusive_group()
    control.add_argument("--control", metavar="PATH", help="control socket (default /run/vrrptui/<pid>.sock)")
    control.add_argument("--no-control", action="store_true", help="serve no control socket")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    log = ConsoleLog(sys.stdout, detail=args.log_detail)
    try:
        config = preflight(args.conf)
    except PreflightError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    log.info(f"Starting vrrptui v{__version__}")
    log.info(f"Opening file '{args.conf}'.")
    for warning in config.warnings:
        log.info(str(warning))
    log.info(f"Starting VRRP child process, pid={os.getpid()}")

    from vrrptui.daemon.runtime import DEFAULT, Runtime  # after preflight: nothing network-related before

    control = None if args.no_control else (args.control or DEFAULT)
    runtime = Runtime(config, log=log, control_path=control, handle_signals=True)
    try:
        code = asyncio.run(runtime.run())
    except KeyboardInterrupt:  # a second ctrl+c during cleanup
        code = 130
    log.info(f"Stopped vrrptui v{__version__}")
    return code
