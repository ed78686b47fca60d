"""What the console hosts: the real engine (Runtime) or a passive sniffer.

Both run in a thread of their own (the app starts `run()` in a thread worker) and hand
batches of observations to `observer`, which the app turns into one coalesced message
per batch. Neither ever touches a widget.
"""

from __future__ import annotations

import concurrent.futures
import select
import threading
import time
from collections import deque
from typing import Any, Callable, Protocol

from vrrptui.config.model import Config
from vrrptui.engine.outputs import LogLine
from vrrptui.observe.heard import Heard
from vrrptui.protocol.packet import decode

Observer = Callable[[tuple[object, ...]], None]


class Backend(Protocol):
    engine: bool  # True: operator commands go to a VRRP engine

    def run(self, observer: Observer) -> int: ...  # blocks until stop(); in a worker thread

    def command(self, name: str, instance: str, *args: Any) -> concurrent.futures.Future[None]: ...

    def stop(self, timeout: float = 10.0) -> None: ...  # thread-safe, idempotent; waits for run() to end


class RuntimeBackend:
    """The VRRP runtime on its own asyncio loop, exactly as headless runs it."""

    engine = True

    def __init__(self, config: Config, runtime_factory: Callable[..., Any] | None = None) -> None:
        if runtime_factory is None:
            from vrrptui.daemon.runtime import Runtime

            runtime_factory = Runtime
        self._factory = runtime_factory
        self.config = config
        self.runtime: Any = None
        self.lines: deque[LogLine] = deque(maxlen=200)  # the runtime's own log, printed after a failure
        self._created = threading.Event()
        self._done = threading.Event()
        self._stop_requested = False
        self.exit_code: int | None = None
        self.error: BaseException | None = None

    def run(self, observer: Observer) -> int:
        try:
            self.runtime = self._factory(self.config, log=self.lines.append, observer=observer)
            self._created.set()
            if self._stop_requested:
                self.runtime.stop()
            self.exit_code = self.runtime.run_forever()
        except BaseException as exc:  # reported by the app; the runtime already cleaned up
            self.error = exc
            self.exit_code = 1
        finally:
            self._created.set()
            self._done.set()
        return self.exit_code or 0

    def wait_started(self, timeout: float) -> bool:
        return self._created.wait(timeout) and self.runtime is not None and self.runtime.started.wait(timeout)

    def command(self, name: str, instance: str, *args: Any) -> concurrent.futures.Future[None]:
        if self.runtime is None:
            future: concurrent.futures.Future[None] = concurrent.futures.Future()
            future.set_exception(ValueError("the engine is not running yet"))
            return future
        return self.runtime.command(name, instance, *args)

    @property
    def running(self) -> bool:
        return self._created.is_set() and not self._done.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        """Resign (priority 0), remove VIPs, and wait for the runtime to finish."""
        self._stop_requested = True
        if self.runtime is not None:
            self.runtime.stop()
        if self._created.is_set() or self.runtime is not None:
            self._done.wait(timeout)


class SniffBackend:
    """`vrrptui sniff IFACE`: capture only. Nothing here can transmit VRRP."""

    engine = False

    def __init__(self, ifname: str, sniffer_factory: Callable[[str], Any] | None = None) -> None:
        if sniffer_factory is None:
            from vrrptui.net.sniffer import VrrpSniffer

            sniffer_factory = VrrpSniffer
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
                batch = []
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

    def command(self, name: str, instance: str, *args: Any) -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_exception(ValueError("sniff mode runs no engine: there is nothing to command"))
        return future

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._started:
            self._done.wait(timeout)


class NullBackend:
    """For tests and screenshots: observations are pushed by hand (`VrrpConsole.observe`)."""

    def __init__(self, engine: bool = True) -> None:
        self.engine = engine
        self.commands: list[tuple[str, str, tuple[Any, ...]]] = []
        self.stopped = 0

    def run(self, observer: Observer) -> int:
        return 0

    def command(self, name: str, instance: str, *args: Any) -> concurrent.futures.Future[None]:
        self.commands.append((name, instance, args))
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_result(None)
        return future

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped += 1
