"""The daemon as a service: keepalived's command line, pid files, detaching, syslog, sd_notify.

    vrrptui -n -f /etc/keepalived/keepalived.conf -p /run/vrrptui.pid     # systemd, Type=notify
    vrrptui --headless CONF                                               # = -n -l: foreground, stdout

Order: options (cmdline.py), then everything that can refuse to start while the operator
still sees stderr (root, config, interfaces, pid-file locks), then detach (without -n),
then the Runtime. With $NOTIFY_SOCKET set (systemd Type=notify): READY=1 once the
instances are up, RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 on
SIGTERM/SIGINT, and STATUS=`2 instances: 1 MASTER, 1 BACKUP` whenever it changes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from vrrptui import __version__
from vrrptui.daemon import children, cmdline
from vrrptui.daemon.daemonize import ReadyPipe, daemonize
from vrrptui.daemon.guardian import Guardian, guard
from vrrptui.daemon.logsink import make_log
from vrrptui.engine.outputs import LogFn
from vrrptui.daemon.pidfile import PidFile, PidFileError, PidFiles, config_claim
from vrrptui.daemon.preflight import EXIT_USAGE, PreflightError, preflight, require_root, use_config_id
from vrrptui.daemon.sdnotify import Notifier

STATUS_PERIOD = 1.0  # seconds between checks of the STATUS= line
START_POLL = 0.005  # seconds between looks at runtime.started
LOCK_WAIT = 0.2  # seconds a start waits for the config's lock: a killed daemon's guardian holds it briefly


def pid_files(args: argparse.Namespace) -> PidFiles:
    files = [config_claim(args.config)]
    if args.pid:
        files.append(PidFile(args.pid, "pid file"))
    if args.vrrp_pid and args.vrrp_pid != args.pid:
        files.append(PidFile(args.vrrp_pid, "VRRP pid file"))
    return PidFiles(files)


def listen_early(config: Any) -> None:
    """The VRRP sockets open as soon as the config is known, before the runtime's imports (earlylisten.py)."""
    if config.global_defs.vrrp_startup_delay > 0:
        return  # nothing is read until the delay has passed
    from vrrptui.daemon import earlylisten
    from vrrptui.daemon.sockpool import receive_keys

    earlylisten.listen(receive_keys(config.instances).items())


def main(argv: list[str]) -> int:
    args = cmdline.parse(argv)
    if args.version:
        print(f"vrrptui {__version__}")
        return 0
    if args.signum is not None:
        print(int(cmdline.SIGNUMS[args.signum.upper()]))
        return 0
    if args.umask is not None:
        os.umask(args.umask)
    if args.config_test:
        from vrrptui.daemon.configtest import config_test

        return config_test(args.config, config_id=args.config_id, log_file=args.config_test_log)
    use_config_id(args.config_id)
    args.config = os.path.abspath(args.config)  # the same file, journal and lock after daemonize's chdir("/")
    try:
        require_root()
        if not os.path.exists(args.config):
            raise PreflightError(f"vrrptui: config file {args.config} not found; give one: `vrrptui -f CONF` or "
                                 f"`vrrptui --headless CONF`")
        config = preflight(args.config)
        pids = pid_files(args)
        pids.acquire(wait=LOCK_WAIT)
        listen_early(config)
    except (PreflightError, PidFileError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"vrrptui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    log = make_log(args)  # before detaching: a warning about syslog still reaches the terminal
    ready = None if args.dont_fork else daemonize()
    pids.write()
    try:
        return run(config, args, log, ready, argv)
    finally:
        pids.release()


def run(config: Any, args: argparse.Namespace, log: LogFn, ready: ReadyPipe | None, argv: list[str]) -> int:
    from vrrptui.daemon.runtime import DEFAULT, Runtime  # after preflight: nothing network-related before
    from vrrptui.engine.outputs import LogLine

    log(LogLine(f"Starting vrrptui v{__version__}"))
    log(LogLine(f"Opening file '{args.config}'."))
    for warning in config.warnings:
        log(LogLine(str(warning)))
    log(LogLine(f"Starting VRRP child process, pid={os.getpid()}"))
    from vrrptui.daemon.stale import removed_at_start

    for line in removed_at_start:
        log(LogLine(line))
    control = None if args.no_control else (args.control or DEFAULT)
    children.become_subreaper()  # what a script daemonises is ours to reap
    runtime = Runtime(config, log=log, control_path=control, handle_signals=True, vip_journal=True)
    metrics = None
    if args.metrics:
        from vrrptui.daemon.metrics import MetricsServer

        metrics = MetricsServer(args.metrics, runtime, drills=args.drills)
        try:
            metrics.start()
        except OSError as exc:
            reason = f"cannot serve metrics on {args.metrics}: {exc.strerror or exc}"
            log(LogLine(reason, level="error"))
            if ready is not None:
                ready.failed(reason)
            else:
                print(f"vrrptui: {reason}", file=sys.stderr)
            return 1
        log(LogLine(f"Serving Prometheus metrics on http://{args.metrics}/metrics"))
    guardian: list[Guardian | None] = []  # once the instances are up: resigns for this process if it is killed
    service = Service(runtime, Notifier.from_environment(), ready, watch=metrics.watch if metrics else None,
                      on_started=lambda: guardian.append(guard(args.config, argv, log)))
    try:
        code = asyncio.run(service.serve())
    except KeyboardInterrupt:  # a second ctrl+c during cleanup
        code = 130
    finally:
        if metrics is not None:
            metrics.stop()
        for g in guardian:
            if g is not None:
                g.stop()
    log(LogLine(f"Stopped vrrptui v{__version__}"))
    return code


class Service:
    """Runs the Runtime and tells systemd (and the waiting parent) how it goes."""

    def __init__(self, runtime: Any, notifier: Notifier | None, ready: ReadyPipe | None,
                 watch: Any = None, on_started: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self.on_started = on_started
        self.watch = watch
        self.notifier = notifier
        self.ready = ready
        self._stopping = False
        self._status_task: asyncio.Task[None] | None = None

    async def serve(self) -> int:
        task = asyncio.ensure_future(self.runtime.run())
        while not self.runtime.started.is_set() and not task.done():
            await asyncio.sleep(START_POLL)
        if self.runtime.start_error is None and not task.done():
            if self.watch is not None:
                # attached once started: the runtime then sends packets and events, without the
                # 10/s status snapshots it schedules at start for the console (3x the CPU at 255 VRIDs)
                self.runtime.observer = self.watch
            self._take_signals()
            if self.on_started is not None:
                self.on_started()
            self._notify(READY=1, STATUS=self._status_line())
            if self.ready is not None:
                self.ready.ready()
            self._status_task = asyncio.ensure_future(self._follow_status())
        try:
            return await task
        finally:
            if self.ready is not None:  # no-op once ready() was sent
                error = self.runtime.start_error or (task.exception() if task.done() and not task.cancelled()
                                                     else None)
                self.ready.failed(f"could not start: {error or 'stopped before its instances were up'}")
            if self._status_task is not None:
                self._status_task.cancel()
            self._stop_notifying()

    def _take_signals(self) -> None:
        """The runtime's SIGTERM/SIGINT/SIGHUP handlers, wrapped with the notifications."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._on_stop)
        loop.add_signal_handler(signal.SIGINT, self._on_stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))

    def _on_stop(self) -> None:
        self._stop_notifying()
        self.runtime.stop()

    def _stop_notifying(self) -> None:
        if not self._stopping:
            self._stopping = True
            self._notify(STOPPING=1)

    async def reload(self) -> bool:
        self._notify(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)
        ok = False
        try:
            ok = bool(await asyncio.wrap_future(self.runtime.request_reload()))
        finally:
            if not self._stopping:  # a stop that overtook the reload has told systemd STOPPING=1: no READY=1
                line = self._status_line()
                self._notify(READY=1, STATUS=line if ok else f"{line}; reload failed, running the previous "
                                                             f"configuration (see the log)")
        return ok

    async def _follow_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_PERIOD)
            if self.notifier is not None:
                self.notifier.status(self.runtime.status_now())

    def _status_line(self) -> str:
        from vrrptui.daemon.sdnotify import status_line

        line = status_line(self.runtime.status_now())
        if self.notifier is not None:
            self.notifier.last_status = line
        return line

    def _notify(self, **fields: object) -> None:
        if self.notifier is not None:
            self.notifier.send(**fields)

