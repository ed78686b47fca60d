"""`python -m vrrptui.daemon.worker FD PARENT_PID`: the console's engine, in a process of its own.

The console starts this process (vrrptui.console.backends.RuntimeBackend) so that rendering,
which holds the UI process's GIL for long stretches, can never keep the engine from reading
its sockets. It runs the same Runtime as headless, with its signal handling (SIGTERM/SIGINT
resign and exit), and talks to the console over one stream socket (FD), in frames:

    console -> worker   ("start", config, runtime_factory)   first frame, once
                        ("command", id, command)             a vrrptui.engine.commands.Command
                        ("stop",)
    worker -> console   ("started", error | None)            once the engine runs, or failed to
                        ("batch", observations, dropped_batches, dropped_items)
                        ("lines", LogLines)                  the runtime's own log
                        ("reply", id, error | None)
                        ("exit", code, error | None)         last, then the socket closes

Observations are batched every FLUSH_PERIOD. The worker never blocks its loop on the socket:
while more than HIGH_WATER bytes wait for a console that does not read, observation batches
are dropped (counted, reported in the next batch); state changes and runtime notes
are kept (bounded), and so is the latest StatusSnapshot, which goes out as soon as there is room.

The worker resigns and exits when the console says stop, when the socket reaches EOF (the
console died) and on SIGTERM, which the kernel sends when the console process dies
(PR_SET_PDEATHSIG): a console killed with SIGKILL still leaves no VIP behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import pickle
import signal
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from vrrptui.daemon import children
from vrrptui.daemon.guardian import Guardian, guard
from vrrptui.records import RuntimeNote, StatusSnapshot
from vrrptui.engine.outputs import LogLine, StateChanged

FLUSH_PERIOD = 0.03  # seconds between observation batches to the console
HIGH_WATER = 1 << 20  # bytes waiting for the console beyond which observation batches are dropped
KEPT_LIMIT = 5000  # state changes / notes held while the console does not read
LINES_KEPT = 200  # the runtime's own log lines held for the console
FINAL_DRAIN = 2.0  # seconds the worker waits, after cleanup, for the console to take its last frames
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_HEADER = struct.Struct("!I")
_KEPT = (StateChanged, RuntimeNote)  # rare and meaningful: never dropped for packets


# --- framing (both sides) -------------------------------------------------------------------

def frame(message: Any) -> bytes:
    """One length-prefixed pickle frame."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


class FrameReader:
    """Bytes in, whole messages out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += data
        out = []
        view = self._buffer
        start = 0
        while len(view) - start >= _HEADER.size:
            (size,) = _HEADER.unpack_from(view, start)
            end = start + _HEADER.size + size
            if len(view) < end:
                break
            out.append(pickle.loads(bytes(view[start + _HEADER.size:end])))
            start = end
        del self._buffer[:start]
        return out


def portable(exc: BaseException | None) -> BaseException | None:
    """The exception itself when it survives pickling, else a RuntimeError that says what it was."""
    if exc is None:
        return None
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


# --- the worker side ------------------------------------------------------------------------

class Outbox:
    """What goes to the console, written without ever blocking the loop it runs on.

    `observe` is the runtime's observer; `flush` (every FLUSH_PERIOD) turns what was observed
    into one batch frame, or drops it while the console is HIGH_WATER bytes behind.
    """

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop, high_water: int = HIGH_WATER) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.loop = loop
        self.high_water = high_water
        self.pending: list[Any] = []
        self.lines: deque[LogLine] = deque(maxlen=LINES_KEPT)
        self.dropped_batches = 0
        self.dropped_items = 0
        self.broken = False  # the console is gone (EPIPE / ECONNRESET)
        self._out = bytearray()
        self._writer = False

    @property
    def backlog(self) -> int:
        """Bytes the console has not taken yet (beyond what the kernel buffers)."""
        return len(self._out)

    def observe(self, batch: Iterable[Any]) -> None:
        self.pending.extend(batch)

    def log(self, line: LogLine) -> None:
        self.lines.append(line)  # any thread: deque.append is atomic

    def flush(self) -> None:
        if self.backlog > self.high_water:  # the console is behind: log lines wait (the last LINES_KEPT)
            self._drop()
            return
        lines = []
        while self.lines:
            lines.append(self.lines.popleft())
        if lines:
            self.send(("lines", tuple(lines)))
        if self.pending:
            batch, self.pending = tuple(self.pending), []
            self.send(("batch", batch, self.dropped_batches, self.dropped_items))

    def _drop(self) -> None:
        """Keep state changes, log lines, notes (bounded) and the latest snapshot; drop the rest."""
        if not self.pending:
            return
        kept: list[Any] = []
        snapshot = None
        dropped = 0
        for item in self.pending:
            if isinstance(item, StatusSnapshot):
                snapshot = item
            elif isinstance(item, _KEPT):
                kept.append(item)
            else:
                dropped += 1
        if len(kept) > KEPT_LIMIT:
            dropped += len(kept) - KEPT_LIMIT
            del kept[:-KEPT_LIMIT]
        if dropped:
            self.dropped_batches += 1
            self.dropped_items += dropped
        self.pending = kept + ([snapshot] if snapshot is not None else [])

    def send(self, message: Any) -> None:
        """Queue one frame (never dropped) and write what the socket takes now."""
        if self.broken:
            return
        self._out += frame(message)
        self._write()

    def _write(self) -> None:
        while self._out and not self.broken:
            try:
                sent = self.sock.send(self._out[:1 << 18])
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # EPIPE, ECONNRESET: the console is gone
                self.broken = True
                self._out.clear()
            else:
                del self._out[:sent]
        want = bool(self._out) and not self.broken
        if want != self._writer:
            if want:
                self.loop.add_writer(self.sock, self._write)
            else:
                self.loop.remove_writer(self.sock)
            self._writer = want

    def drain(self, timeout: float) -> None:
        """After cleanup, at exit: wait up to `timeout` s for the console to take the last frames."""
        if self._writer:
            self.loop.remove_writer(self.sock)
            self._writer = False
        deadline = time.monotonic() + timeout
        self.sock.setblocking(True)
        while self._out and not self.broken:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                sent = self.sock.send(self._out[:1 << 18])
            except OSError:  # timeout or the console is gone
                break
            del self._out[:sent]


class Worker:
    """One Runtime on this process's loop, its observer and commands over the console's socket."""

    def __init__(self, sock: socket.socket, config: Any, runtime_factory: Callable[..., Any] | None,
                 reader: FrameReader | None = None, early: Iterable[tuple[Any, ...]] = ()) -> None:
        from vrrptui.daemon.pidfile import config_claim
        from vrrptui.daemon.runtime import Runtime

        if runtime_factory is None:
            runtime_factory = Runtime
        # a real engine holds the config's lock in this namespace, as the daemon does (pidfile.py)
        real = getattr(runtime_factory, "func", runtime_factory) is Runtime
        self._claim = config_claim(config.path) if real else None
        self.sock = sock
        self.config = config
        self.factory = runtime_factory
        self.runtime: Any = None
        self.outbox: Outbox | None = None
        self._reader = reader or FrameReader()
        self._early = list(early)  # frames that came with the start frame (a stop, a command)
        self._started_sent = False
        self._stopping = False
        self._tick_handle: asyncio.TimerHandle | None = None
        self._guardian: Guardian | None = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.outbox = outbox = Outbox(self.sock, loop)
        if self._claim is not None:
            try:
                self._claim.acquire()
            except Exception as exc:  # PidFileError (another vrrptui runs this config here) or OSError
                outbox.send(("started", portable(exc)))
                outbox.send(("exit", 2, portable(exc)))
                outbox.drain(FINAL_DRAIN)
                return 2
        try:
            return await self._run(loop, outbox)
        finally:
            if self._guardian is not None:
                self._guardian.stop()
            if self._claim is not None:
                self._claim.release()

    async def _run(self, loop: asyncio.AbstractEventLoop, outbox: Outbox) -> int:
        journal: dict[str, Any] = {"vip_journal": True} if self._claim is not None else {}  # for the guardian
        self.runtime = self.factory(self.config, log=outbox.log, observer=outbox.observe, handle_signals=True,
                                    **journal)
        loop.add_reader(self.sock, self._on_readable)
        for message in self._early:
            self._handle(message)
        self._tick_handle = loop.call_later(FLUSH_PERIOD, self._tick)
        error: BaseException | None = None
        try:
            code = await self.runtime.run()
        except BaseException as exc:  # the runtime cleaned up already; say why it ended
            code, error = 1, exc
        finally:
            loop.remove_reader(self.sock)
            if self._tick_handle is not None:
                self._tick_handle.cancel()
        self._send_started()
        error = error or self.runtime.start_error
        outbox.flush()
        outbox.send(("exit", code, portable(error)))
        outbox.drain(FINAL_DRAIN)
        return code

    def _tick(self) -> None:
        assert self.outbox is not None
        try:
            self._send_started()
            self.outbox.flush()
            if self.outbox.broken:
                self._console_gone("the console's socket broke")
        except Exception as exc:  # a bug here must not take the router down: say it, stop sending
            self.outbox.log(LogLine(f"worker: cannot send to the console: {exc!r}", level="error"))
        self._tick_handle = asyncio.get_running_loop().call_later(FLUSH_PERIOD, self._tick)

    def _send_started(self) -> None:
        if not self._started_sent and self.runtime.started.is_set():
            self._started_sent = True
            assert self.outbox is not None
            self.outbox.send(("started", portable(self.runtime.start_error)))
            if self._claim is not None and self.runtime.start_error is None:
                # the daemon's guardian: a worker killed with SIGKILL (the OOM killer) still resigns and
                # leaves no VIP behind; its lines are not logged (-G): the console shows the worker's end
                self._guardian = guard(os.path.abspath(self.config.path), ["-G"], self.outbox.log)

    def _on_readable(self) -> None:
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.sock)
            self._console_gone("the console closed its socket")
            return
        for message in self._reader.feed(data):
            self._handle(message)

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "command":
            _, ident, command = message
            try:
                self.runtime.command_now(command)
            except Exception as exc:
                self.outbox.send(("reply", ident, portable(exc)))  # type: ignore[union-attr]
            else:
                self.outbox.send(("reply", ident, None))  # type: ignore[union-attr]
        elif kind == "stop":
            self._stopping = True
            self.runtime.stop()

    def _console_gone(self, why: str) -> None:
        if not self._stopping:
            self._stopping = True
            self.outbox.log(LogLine(f"{why}: stopping", level="warning"))  # type: ignore[union-attr]
        self.runtime.stop()


def die_with_parent() -> None:
    """SIGTERM when the console process dies, however it dies (prctl(2) PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def _read_start(sock: socket.socket) -> Worker:
    """The first frame ("start", config, runtime_factory) makes the Worker; frames after it are kept."""
    reader = FrameReader()
    while True:
        data = sock.recv(1 << 16)
        if not data:
            raise EOFError("the console closed the socket before sending the config")
        messages = reader.feed(data)
        if messages:
            kind, config, factory = messages[0]
            if kind != "start":
                raise ValueError(f"first frame is {kind!r}, not 'start'")
            return Worker(sock, config, factory, reader, messages[1:])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m vrrptui.daemon.worker FD PARENT_PID (started by the console)", file=sys.stderr)
        return 2
    fd, parent = int(argv[0]), int(argv[1])
    die_with_parent()
    children.become_subreaper()  # what a script daemonises is ours to reap
    if os.getppid() != parent:  # the console died before prctl took effect
        return 1
    worker = _read_start(socket.socket(fileno=fd))
    return asyncio.run(worker.run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
