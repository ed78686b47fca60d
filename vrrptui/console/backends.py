"""What the console hosts: the real engine (Runtime) or a passive sniffer.

The app starts `run()` in a thread worker; it hands batches of observations to `observer`,
which the app turns into one coalesced message per batch. None of them touches a widget.
The engine runs in a process of its own (RuntimeBackend, vrrptui.daemon.worker), so that
rendering never starves it; ThreadRuntimeBackend keeps it in this process for tests that
want that; the sniffer transmits nothing and stays in a thread.
"""

from __future__ import annotations

import concurrent.futures
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any, Protocol
from collections.abc import Callable

import vrrptui
from vrrptui.config.model import Config
from vrrptui.daemon.worker import FrameReader, frame
from vrrptui.engine.commands import Command, CommandError
from vrrptui.engine.outputs import LogLine
from vrrptui.records import Heard
from vrrptui.protocol.packet import decode

Observer = Callable[[tuple[object, ...]], None]
REAP_TIMEOUT = 5.0  # seconds to wait for the worker's exit once it closed its socket


class EngineExited(RuntimeError):
    """The engine's process ended without being asked to (its log lines say why)."""


class Backend(Protocol):
    engine: bool  # True: operator commands go to a VRRP engine

    def run(self, observer: Observer) -> int: ...  # blocks until stop(); in a worker thread

    def command(self, cmd: Command) -> concurrent.futures.Future[None]: ...

    def stop(self, timeout: float = 10.0) -> None: ...  # thread-safe, idempotent; waits for run() to end


class RuntimeBackend:
    """The VRRP runtime in a process of its own (vrrptui.daemon.worker), exactly as headless runs it.

    A process, not a thread: rendering holds the UI process's GIL for long stretches, and a
    thread-hosted engine then misses adverts and wrongly takes over. `run()` (the app's thread
    worker) starts the worker, hands it the config, and relays what it sends until it exits;
    `command()` and `stop()` write to the same socket. The worker resigns and removes its VIPs
    on stop, on EOF and when this process dies (PR_SET_PDEATHSIG), SIGKILL included.

    `runtime_factory` is called in the worker, so it must pickle: Runtime (the default) or a
    functools.partial of it.
    """

    engine = True

    def __init__(self, config: Config, runtime_factory: Callable[..., Any] | None = None) -> None:
        self.config = config
        self.factory = runtime_factory
        self.lines: deque[LogLine] = deque(maxlen=200)  # the runtime's own log, printed after a failure
        self.process: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self.start_error: BaseException | None = None
        self.dropped_batches = 0  # observation batches the worker dropped while this side did not read
        self.dropped_items = 0
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._futures: dict[int, concurrent.futures.Future[None]] = {}
        self._next_id = 0
        self._started = threading.Event()
        self._done = threading.Event()
        self._run_called = False
        self._stop_requested = False

    # --- the app's thread worker ---------------------------------------------------------

    def run(self, observer: Observer) -> int:
        with self._state_lock:
            self._run_called = True
            if self._stop_requested:
                self._finish(0)
                return 0
            try:
                ours = self._spawn()
            except BaseException as exc:
                self.error = exc
                self._finish(1)
                return 1
        try:
            self._relay(ours, observer)
        except BaseException as exc:  # a bug on this side: the worker sees EOF and resigns
            self.error = self.error or exc
        finally:
            ours.close()
            self._reap()
        return self.exit_code or 0

    def _spawn(self) -> socket.socket:
        ours, theirs = socket.socketpair()
        stderr = tempfile.TemporaryFile()
        root = str(Path(vrrptui.__file__).resolve().parent.parent)  # the same vrrptui as this process
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vrrptui.daemon.worker", str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=True,  # terminal signals (ctrl+z, ctrl+c before the UI) are the console's
                env=env)
        except BaseException:
            ours.close()
            stderr.close()
            raise
        finally:
            theirs.close()
        self._stderr: IO[bytes] | None = stderr
        self._sock = ours
        ours.sendall(frame(("start", self.config, self.factory)))
        return ours

    def _relay(self, sock: socket.socket, observer: Observer) -> None:
        reader = FrameReader()
        while True:
            try:
                data = sock.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                return
            for message in reader.feed(data):
                kind = message[0]
                if kind == "batch":
                    _, items, self.dropped_batches, self.dropped_items = message
                    observer(items)
                elif kind == "lines":  # the runtime's log, once: kept for a failure report, and shown
                    self.lines.extend(message[1])
                    observer(message[1])
                elif kind == "reply":
                    _, ident, exc = message
                    future = self._futures.pop(ident, None)
                    if future is None:
                        continue
                    if exc is None:
                        future.set_result(None)
                    else:
                        future.set_exception(exc)
                elif kind == "started":
                    self.start_error = message[1]
                    if self.start_error is not None:
                        self.error = self.start_error
                    self._started.set()
                elif kind == "exit":
                    _, self.exit_code, error = message
                    if error is not None:
                        self.error = self.error or error

    def _reap(self) -> None:
        """The worker closed its socket: collect its exit status; say so if nobody asked it to stop."""
        with self._send_lock:
            self._sock = None
        process = self.process
        code = self.exit_code
        if process is not None:
            try:
                process.wait(REAP_TIMEOUT)
            except subprocess.TimeoutExpired:  # still cleaning up: it exits on its own
                pass
            if process.returncode is not None and process.returncode != 0:
                code = code or process.returncode
        if not self._stop_requested and self.error is None:
            self.lines.extend(self._stderr_tail())
            if code is None:
                how = "closing its socket"
            elif code < 0:
                how = f"killed by signal {-code}"
            else:
                how = f"exit code {code}"
            pid = process.pid if process else "?"
            self.error = EngineExited(f"the engine process ({pid}) ended without being asked to ({how}); "
                                      "it resigned and removed its VIPs unless it was killed")
        self._finish(code if code is not None else 1)

    def _stderr_tail(self) -> list[LogLine]:
        stderr = getattr(self, "_stderr", None)
        if stderr is None:
            return []
        try:
            stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - 4000))
            text = stderr.read().decode(errors="replace")
        except OSError:
            return []
        return [LogLine(line, level="error") for line in text.splitlines()[-20:]]

    def _finish(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
        for future in list(self._futures.values()):
            if not future.done():
                future.set_exception(ValueError("the engine has stopped"))
        self._futures.clear()
        self._started.set()
        self._done.set()
        stderr = getattr(self, "_stderr", None)
        if stderr is not None:
            stderr.close()
            self._stderr = None

    # --- any thread ----------------------------------------------------------------------

    def wait_started(self, timeout: float) -> bool:
        """True once the engine runs; False on a start error, an early exit or a timeout."""
        return self._started.wait(timeout) and not self._done.is_set() and self.start_error is None

    @property
    def running(self) -> bool:
        return self._started.is_set() and not self._done.is_set()

    def command(self, cmd: Command) -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._send_lock:
            if self._sock is None:
                future.set_exception(ValueError("the engine is not running" + ("" if self._done.is_set() else " yet")))
                return future
            self._next_id += 1
            ident = self._next_id
            self._futures[ident] = future
            try:
                self._sock.sendall(frame(("command", ident, cmd)))
            except OSError as exc:
                self._futures.pop(ident, None)
                future.set_exception(ValueError(f"the engine is not reachable: {exc.strerror or exc}"))
        return future

    def stop(self, timeout: float = 10.0) -> None:
        """Resign (priority 0), remove VIPs, and wait (at most `timeout` s) for the worker to finish."""
        with self._state_lock:
            self._stop_requested = True
            if not self._run_called:
                return
        with self._send_lock:
            if self._sock is not None:
                try:
                    self._sock.sendall(frame(("stop",)))
                except OSError:  # gone already
                    pass
        self._done.wait(timeout)


class SniffBackend:
    """`vrrptui sniff IFACE`: capture only. Nothing here can transmit VRRP."""

    engine = False

    def __init__(self, ifname: str, sniffer_factory: Callable[[str], Any]) -> None:
        self.ifname = ifname
        self._factory = sniffer_factory
        self._stop = threading.Event()
        self._done = threading.Event()
        self._started = False
        self.error: BaseException | None = None
        self.exit_code: int | None = None

    def run(self, observer: Observer) -> int:
        self._started = True
        try:
            sniffer = self._factory(self.ifname)
        except OSError as exc:
            self.error = exc
            self._done.set()
            return 1
        offset = time.time() - time.monotonic()  # kernel timestamps are wall clock; the console's is monotonic
        try:
            while not self._stop.is_set():
                if not select.select([sniffer], [], [], 0.1)[0]:
                    continue
                batch: list[Heard] = []
                while len(batch) < 2000:
                    cap = sniffer.recv()
                    if cap is None:
                        break
                    batch.append(Heard(self.ifname, cap.ts - offset, cap.src, cap.dst, cap.ttl,
                                       decode(cap.payload, cap.src, cap.dst), cap.payload, cap.src_mac, cap.outgoing))
                if batch:
                    observer(tuple(batch))
        finally:
            sniffer.close()
            self.exit_code = 0
            self._done.set()
        return 0

    def command(self, cmd: Command) -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_exception(CommandError("sniff mode runs no engine: there is nothing to command"))
        return future

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._started:
            self._done.wait(timeout)


class NullBackend:
    """For tests and screenshots: observations are pushed by hand (`VrrpConsole.observe`)."""

    def __init__(self, engine: bool = True) -> None:
        self.engine = engine
        self.commands: list[Command] = []
        self.stopped = 0

    def run(self, observer: Observer) -> int:
        return 0

    def command(self, cmd: Command) -> concurrent.futures.Future[None]:
        self.commands.append(cmd)
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_result(None)
        return future

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped += 1
