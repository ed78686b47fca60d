"""keepalived's command line for the daemon: `vrrptui -n -l -D -f CONF -p PIDFILE ...`.

The options mean what they mean to keepalived 2.2 (`keepalived --help`), so a unit file
or /etc/default/keepalived written for keepalived runs vrrptui unchanged:

    -f/--use-file CONF      config (default /etc/keepalived/keepalived.conf; CONF may also be
                            given as the argument, as in `vrrptui --headless CONF`)
    -n/--dont-fork          stay in the foreground (otherwise detach: double fork, setsid)
    -l/--log-console        log to the console instead of syslog
    -D/--log-detail         detailed log lines
    -S/--log-facility F     syslog facility 0-7 (local0-7), local0-7, user or daemon (default)
    -G/--no-syslog          no syslog
    -p/--pid FILE           pid file (flock()ed: a second daemon on it is refused)
    -r/--vrrp_pid FILE      the VRRP process's pid file (the same process here)
    -i/--config-id ID       keepalived's @ID / @^ID config lines
    -t/--config-test[=LOG]  check the config; exit 0 ok, 4 file missing, 5 config errors or an
                            interface absent, 6 script security errors (keepalived's codes)
    -u/--umask MASK, -v/--version, --signum=STOP|RELOAD|DATA|STATS

-P (VRRP only), -B (no BFD), -R (no respawn), -c/-b FILE (checker/BFD pid files) are
accepted: vrrptui is one VRRP process, so they already hold. Options for keepalived's
other daemons or features vrrptui lacks are refused with a message (REFUSED).
`--headless` is `-n -l`. vrrptui's own: --metrics ADDR:PORT [--drills PATH] (metrics.py),
--control/--no-control, --syslog-socket, --syslog-ident.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import NoReturn

DEFAULT_CONF = "/etc/keepalived/keepalived.conf"
EXIT_USAGE = 2
# keepalived's enum exit_code (lib/scheduler.h in 2.2)
EXIT_CONFIG = 4  # config file not found, fatal
EXIT_CONFIG_TEST = 5  # errors in the config (2.2.7 also for an interface that does not exist)
EXIT_CONFIG_TEST_SECURITY = 6  # script security

SIGNUMS = {"STOP": signal.SIGTERM, "RELOAD": signal.SIGHUP, "DATA": signal.SIGUSR1, "STATS": signal.SIGUSR2}

# keepalived option -> why vrrptui refuses it
REFUSED = {
    ("-C", "--check"): "runs only keepalived's health checker (LVS); vrrptui is VRRP only "
                       "(vrrptui's `--check CONF` is the config test: -t)",
    ("--all",): "forces keepalived's checker and BFD processes; vrrptui has only VRRP",
    ("-X", "--release-vips"): "keepalived's signal-driven transitions are not implemented",
    ("-V", "--dont-release-vrrp"): "vrrptui always removes its VIPs on stop, so a backup can take over "
                                   "(use -v for the version)",
    ("-I", "--dont-release-ipvs"): "there is no IPVS in vrrptui",
    ("-d", "--dump-conf"): "use `vrrptui --check CONF` for a table of what would run",
    ("-T", "--genhash"): "genhash is keepalived's checker tool",
    ("-a", "--address-monitoring"): "not implemented; `vrrptui CONF` (the console) shows address events",
    ("-x", "--snmp"): "no SNMP in vrrptui; use --metrics for Prometheus",
    ("-A", "--snmp-agent-socket"): "no SNMP in vrrptui; use --metrics for Prometheus",
    ("-s", "--namespace"): "run it inside the namespace instead: `ip netns exec NAME vrrptui ...`",
    ("-m", "--core-dump"): "not applicable to a Python program",
    ("-M", "--core-dump-pattern"): "not applicable to a Python program",
    ("-e", "--all-config"): "not implemented; `vrrptui --check CONF` warns about an include matching no file",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser(prog: str = "vrrptui") -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description="Run the VRRP daemon with keepalived's command line "
                                       "(without -n it detaches, without -l it logs to syslog).")
    p.add_argument("conf", nargs="?", metavar="CONF", help="config file (same as -f)")
    p.add_argument("-f", "--use-file", metavar="FILE", help=f"config file (default {DEFAULT_CONF})")
    p.add_argument("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    p.add_argument("-l", "--log-console", action="store_true", help="log to the console instead of syslog")
    p.add_argument("-D", "--log-detail", action="store_true", help="detailed log lines")
    p.add_argument("-S", "--log-facility", metavar="F", default="daemon",
                   help="syslog facility: 0-7 (local0-7), local0-local7, user or daemon (default)")
    p.add_argument("-G", "--no-syslog", action="store_true", help="do not log to syslog")
    p.add_argument("-p", "--pid", metavar="FILE", help="pid file (locked: a second daemon on it is refused)")
    p.add_argument("-r", "--vrrp_pid", metavar="FILE", help="pid file of the VRRP process (this process)")
    p.add_argument("-i", "--config-id", metavar="ID", help="config id for @ID lines (default: the host name)")
    p.add_argument("-t", "--config-test", action="store_true",
                   help="check the config and exit: 0 ok, 4 file missing, 5 errors or interface missing, "
                        "6 script security (--config-test=LOG_FILE writes the report there)")
    p.add_argument("-u", "--umask", metavar="MASK", help="umask for files created (octal)")
    p.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    p.add_argument("--signum", metavar="SIGFUNC", help="print the signal number for STOP, RELOAD, DATA or STATS")
    p.add_argument("-P", "--vrrp", action="store_true", help="VRRP only (always so here)")
    p.add_argument("-B", "--no_bfd", action="store_true", help="no BFD (there is none here)")
    p.add_argument("-R", "--dont-respawn", action="store_true", help="no respawn (vrrptui is one process)")
    p.add_argument("-c", "--checkers_pid", metavar="FILE", help="accepted, unused: there is no checker process")
    p.add_argument("-b", "--bfd_pid", metavar="FILE", help="accepted, unused: there is no BFD process")
    p.add_argument("--headless", action="store_true", help="same as -n -l (foreground, log to stdout)")
    control = p.add_mutually_exclusive_group()
    control.add_argument("--control", metavar="PATH", help="control socket (default /run/vrrptui/<pid>.sock)")
    control.add_argument("--no-control", action="store_true", help="serve no control socket")
    p.add_argument("--metrics", metavar="ADDR:PORT", help="serve Prometheus metrics at http://ADDR:PORT/metrics "
                   "(keepalived exporters' names; off by default), e.g. 127.0.0.1:9165")
    p.add_argument("--drills", metavar="PATH", help="with --metrics: also serve the drills the console recorded "
                   "for this config, e.g. /var/lib/vrrptui/<config-name>/drills.jsonl")
    p.add_argument("--syslog-socket", metavar="PATH", default="/dev/log", help="syslog socket (default /dev/log)")
    p.add_argument("--syslog-ident", metavar="IDENT", default="Keepalived_vrrp",
                   help="syslog ident (default keepalived's VRRP process: Keepalived_vrrp)")
    return p


TAKES_VALUE = set("fSpriucbtAsM")  # short options whose value may follow in the same word (-f/etc/x.conf)


def _refused(option: str) -> str | None:
    if option.startswith("--"):
        names = [option.split("=", 1)[0]]
    else:  # a cluster such as -nlX; stop at an option whose value follows
        names = []
        for ch in option[1:]:
            names.append(f"-{ch}")
            if ch in TAKES_VALUE:
                break
    for name in names:
        for refused, why in REFUSED.items():
            if name in refused:
                return f"{'/'.join(refused)}: {why}"
    return None


def split_config_test(argv: list[str]) -> tuple[list[str], str | None]:
    """getopt's optional argument: `-tLOG` / `--config-test=LOG`; `-t LOG` is not one."""
    out: list[str] = []
    log_file = None
    for arg in argv:
        if arg.startswith("--config-test="):
            log_file = arg.split("=", 1)[1]
            arg = "--config-test"
        elif arg.startswith("-t") and len(arg) > 2 and not arg.startswith("--"):
            log_file = arg[2:]
            arg = "-t"
        out.append(arg)
    return out, log_file


def parse(argv: list[str], prog: str = "vrrptui") -> argparse.Namespace:
    """Parse keepalived's options; exit 2 with a message for a refused or malformed one."""
    parser = build_parser(prog)
    for arg in argv:
        if arg == "--":
            break
        why = _refused(arg) if arg.startswith("-") else None
        if why:
            parser.print_usage(sys.stderr)
            print(f"{prog}: {why}", file=sys.stderr)
            raise SystemExit(EXIT_USAGE)
    argv, log_file = split_config_test(argv)
    args = parser.parse_args(argv)
    args.config_test_log = log_file
    if args.conf and args.use_file and args.conf != args.use_file:
        parser.error(f"two config files: {args.conf} and -f {args.use_file}; give one")
    args.config = args.use_file or args.conf or DEFAULT_CONF
    if args.headless:
        args.dont_fork = args.log_console = True
    if args.umask is not None:
        try:
            args.umask = int(args.umask, 8)
        except ValueError:
            parser.error(f"-u/--umask {args.umask!r} is not an octal mask such as 022")
    if args.signum is not None and args.signum.upper() not in SIGNUMS:
        parser.error(f"--signum {args.signum!r}: use one of {', '.join(SIGNUMS)}")
    if args.drills is not None and args.metrics is None:
        parser.error("--drills serves drills as metrics: give --metrics ADDR:PORT too")
    if args.metrics is not None:
        from vrrptui.daemon.metrics import parse_address

        try:
            parse_address(args.metrics)
        except ValueError as exc:
            parser.error(str(exc))
    from vrrptui.daemon.syslog import parse_facility

    try:
        args.facility = parse_facility(args.log_facility)
    except ValueError as exc:
        parser.error(f"-S/--log-facility: {exc}")
    return args
