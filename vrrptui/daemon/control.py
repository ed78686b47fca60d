"""The control socket and `vrrptui status`.

Every running vrrptui (headless or console) serves a Unix socket at
`/run/vrrptui/<pid>.sock` ($VRRPTUI_RUNTIME_DIR overrides the directory) and points the
symlink `default` at the newest one. Network namespaces share /run, so `vrrptui status`
finds every vrrptui on the host, whichever namespace it routes in.

Protocol: one JSON object per line each way.
    {"cmd": "status"}                                  -> {"ok": true, "instances": [...], ...}
    {"cmd": "set_priority", "instance": "VI_1", "priority": 150}
    {"cmd": "demote" | "failover" | "resume", "instance": "VI_1"}
                                                       -> {"ok": true} | {"ok": false, "error": "..."}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from vrrptui import __version__
from vrrptui.config.model import Config
from vrrptui.daemon.pidfile import UnsafeDirectory, check_directory, prepare_directory, runtime_dir
from vrrptui.engine.commands import VERBS, Command, Demote, Failover, Resume, SetPriority
from vrrptui.engine.outputs import LogFn, LogLine
from vrrptui.engine.status import InstanceStatus
from vrrptui.daemon.controlguard import (
    IDLE_TIMEOUT,
    MAX_CLIENTS,
    MAX_REQUEST,
    bind_private,
    parse_request,
    printable,
)


class Runtime(Protocol):
    """What the control socket needs from the daemon's runtime (which imports this module)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None: ...

    @property
    def config(self) -> Config: ...

    @property
    def reloads(self) -> int: ...

    def wall_time(self, at: float) -> float: ...

    def status_now(self) -> tuple[InstanceStatus, ...]: ...

    def unclaimed_drops(self) -> dict[str, int]: ...

    def command_now(self, cmd: Command) -> None: ...

DEFAULT_LINK = "default"


def default_socket_path() -> str:
    return str(runtime_dir() / f"{os.getpid()}.sock")


def network_namespace_name() -> str | None:
    """The `ip netns` name of our network namespace, if it has one (for status output)."""
    try:
        ours = os.stat("/proc/self/ns/net")
        for entry in os.scandir("/run/netns"):
            st = os.stat(entry.path)
            if (st.st_dev, st.st_ino) == (ours.st_dev, ours.st_ino):
                return entry.name
    except OSError:
        pass
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- server ----------------------------------------------------------------------------


class ControlServer:
    """Serves the runtime's status and operator commands on its event loop."""

    def __init__(self, runtime: Runtime, path: str) -> None:
        self.runtime = runtime
        self.path = Path(path)
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[Any]] = set()
        self._linked = False
        self.namespace = network_namespace_name()

    @classmethod
    async def serving(cls, runtime: Runtime, path: str, log: LogFn) -> ControlServer | None:
        """A started server, or None (logged: the daemon runs without its control socket)."""
        server = cls(runtime, path)
        try:
            await server.start()
        except OSError as exc:
            log(LogLine(f"control socket {path} not available: {exc.strerror or exc}", level="warning"))
            return None
        return server

    async def start(self) -> None:
        directory = self.path.parent
        prepare_directory(directory)  # refuses a directory another user could write to
        _remove_stale_sockets(directory)
        sock = bind_private(self.path)  # 0600 (root only: the commands move VIPs), no race
        self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=MAX_REQUEST)
        link = directory / DEFAULT_LINK
        try:
            tmp = directory / f".{DEFAULT_LINK}.{os.getpid()}"
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.path.name)
            tmp.replace(link)
            self._linked = True
        except OSError:
            pass

    def stop(self) -> None:
        """No new connection and no further command: the first step of a stop, before the resign. Waits for
        nothing; close() waits for the connections to end once the VIPs are gone."""
        if self._server is not None:
            self._server.close()
        for task in self._clients:  # connected clients end quietly with the daemon
            task.cancel()

    async def close(self) -> None:
        self.stop()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await asyncio.gather(*self._clients, return_exceptions=True)
                    await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        link = self.path.parent / DEFAULT_LINK
        if self._linked:
            with contextlib.suppress(OSError):
                if os.readlink(link) == self.path.name:
                    link.unlink()
                    _relink_newest(self.path.parent)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # asyncio runs each connection's handler as a task
        try:
            if len(self._clients) >= MAX_CLIENTS:
                await self._reply(writer, {"ok": False, "error": f"busy: {MAX_CLIENTS} clients connected"})
                return
            self._clients.add(task)
            while True:
                try:
                    async with asyncio.timeout(IDLE_TIMEOUT):
                        line = await reader.readline()
                except (asyncio.LimitOverrunError, ValueError):
                    await self._reply(writer, {"ok": False, "error": f"request longer than {MAX_REQUEST} bytes"})
                    break
                except TimeoutError:
                    break  # idle: a held connection must not pin a file descriptor forever
                if not line:
                    break
                await self._reply(writer, self.handle(line))
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):  # a client that reads nothing would hold its socket open
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            writer.transport.abort()  # what it has not read by then is dropped, and the descriptor freed

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, reply: dict[str, Any]) -> None:
        writer.write(json.dumps(reply, default=str).encode() + b"\n")
        # A client that never reads is idle too. asyncio.timeout, not wait_for: Python 3.11's wait_for drops a
        # cancel that meets a finished drain, and the connection then outlived close() by IDLE_TIMEOUT.
        async with asyncio.timeout(IDLE_TIMEOUT):
            await writer.drain()

    def handle(self, line: bytes) -> dict[str, Any]:
        try:
            request = parse_request(line)
        except (ValueError, RecursionError) as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        cmd = request.get("cmd")
        try:
            if cmd == "status":
                return {"ok": True, **self.status()}
            instance = str(request.get("instance"))
            command: Command
            match cmd:
                case SetPriority.verb:
                    priority: Any = request.get("priority")  # any JSON value: the engine checks it is 1-254
                    command = SetPriority(instance, priority)
                case Demote.verb:
                    command = Demote(instance)
                case Failover.verb:
                    command = Failover(instance)
                case Resume.verb:
                    command = Resume(instance)
                case _:
                    return {"ok": False, "error": f"unknown cmd {cmd!r}: use status, {', '.join(VERBS)}"}
            self.runtime.command_now(command)
        except ValueError as exc:  # CommandError: the engine's reason
            return {"ok": False, "error": str(exc)}
        return {"ok": True}

    def status(self) -> dict[str, Any]:
        return status_reply(self.runtime, self.namespace)


def status_reply(rt: Runtime, namespace: str | None) -> dict[str, Any]:
    """What `vrrptui status` gets (and the SIGUSR1/SIGUSR2 dumps write); call on the runtime's loop."""
    loop_now = rt.loop.time() if rt.loop is not None else time.monotonic()
    return {
        "pid": os.getpid(),
        "version": __version__,
        "config": rt.config.path,
        "namespace": namespace,
        "hostname": socket.gethostname(),
        "monotonic": loop_now,
        "wall": rt.wall_time(loop_now),
        "reloads": rt.reloads,
        "instances": [s.to_json() for s in rt.status_now()],
        "unclaimed_drops": rt.unclaimed_drops(),
    }


def _remove_stale_sockets(directory: Path) -> None:
    """Sockets of vrrptui processes that died without cleaning up (SIGKILL)."""
    for entry in directory.glob("*.sock"):
        if entry.stem.isdigit() and not _pid_alive(int(entry.stem)):
            with contextlib.suppress(OSError):
                entry.unlink()


def _relink_newest(directory: Path) -> None:
    live = [p for p in directory.glob("*.sock") if p.stem.isdigit() and _pid_alive(int(p.stem))]
    if live:
        newest = max(live, key=lambda p: p.stat().st_mtime)
        with contextlib.suppress(OSError):
            (directory / DEFAULT_LINK).symlink_to(newest.name)


# --- client ----------------------------------------------------------------------------


class ControlError(Exception):
    pass


def request(path: str | Path, message: dict[str, Any], timeout: float = 3.0) -> dict[str, Any]:
    """One request/response on a control socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            try:
                s.sendall(json.dumps(message).encode() + b"\n")
            except BrokenPipeError:
                pass  # answered and closed before reading ("busy: 16 clients connected"): read why
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError as exc:
            raise ControlError(f"{path}: {exc.strerror or exc}") from None
    try:
        return json.loads(data)
    except ValueError:
        raise ControlError(f"{path}: no valid answer (is it a vrrptui control socket?)") from None


def discover(directory: Path | None = None) -> list[Path]:
    """Control sockets of live vrrptui processes, oldest pid first."""
    directory = directory or runtime_dir()
    found = []
    for entry in sorted(directory.glob("*.sock"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0):
        if entry.stem.isdigit() and _pid_alive(int(entry.stem)):
            found.append(entry)
    return found


def _ago(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"


def format_status(reply: dict[str, Any]) -> str:
    """Human-readable status of one vrrptui, in the spirit of `show vrrp detail`."""
    lines = []
    where = f"netns {reply['namespace']}" if reply.get("namespace") else f"host {reply.get('hostname', '?')}"
    lines.append(f"vrrptui {reply.get('version', '?')} pid {reply.get('pid')} ({where}), config {reply.get('config')}")
    now = float(reply.get("monotonic", 0.0))
    wall = float(reply.get("wall", time.time()))
    for inst in reply.get("instances", []):
        family = f"IPv{inst['family']}"
        lines.append("")
        lines.append(f"  {inst['name']}: {inst['state']}  (VRID {inst['vrid']}, VRRPv{inst['version']} {family}, "
                     f"interface {inst['interface']})")
        since = now - float(inst["state_since"])
        at = time.strftime("%H:%M:%S", time.localtime(wall - since))
        lines.append(f"    in state since   {at} ({_ago(since)}); last transition {inst['last_transition']} "
                     f"({inst['last_reason']})")
        prio = f"{inst['effective_priority']} effective, {inst['configured_priority']} configured"
        if inst.get("priority_reason"):
            prio += f" ({inst['priority_reason']})"
        if inst.get("held"):
            prio += f"; operator hold: {inst['held']}"
        lines.append(f"    priority         {prio}")
        master = inst.get("master_address")
        if master:
            mine = " (this router)" if master == inst.get("primary_address") else ""
            lines.append(f"    master           {master}{mine} priority {inst.get('master_priority')}")
        else:
            lines.append("    master           unknown")
        learned = inst.get("learned_advert_int")
        lines.append(f"    advert interval  {_ms(inst['advert_int'])} configured"
                     + (f", {_ms(learned)} learned" if learned is not None else ""))
        down = f"    master down      {_ms(inst['master_down_interval'])} (skew {_ms(inst['skew_time'])})"
        if inst.get("master_down_at") is not None:
            down += f", fires in {_ms(max(0.0, float(inst['master_down_at']) - now))}"
        lines.append(down)
        preempt = "yes" if inst.get("preempt") else "no (nopreempt)"
        if inst.get("preempt_delay"):
            preempt += f", delay {inst['preempt_delay']:g} s"
        lines.append(f"    preempt          {preempt}")
        lines.append(f"    source           {inst.get('primary_address')}"
                     + (f"; unicast peers {', '.join(inst['unicast_peers'])}" if inst.get("unicast_peers") else ""))
        lines.append(f"    VIPs             {', '.join(inst.get('vips') or ()) or 'none'}"
                     + (f" (VMAC {inst['vmac']})" if inst.get("vmac") else ""))
        trackers = inst.get("trackers") or []
        if trackers:
            lines.append("    trackers         " + ", ".join(f"{n} {s} (weight {w})" for n, s, w in trackers))
        c = inst.get("counters", {})
        lines.append(f"    adverts          sent {c.get('adverts_sent', 0)}, received {c.get('adverts_received', 0)}; "
                     f"became master {c.get('became_master', 0)}, released {c.get('released_master', 0)}; "
                     f"priority 0 sent {c.get('priority_zero_sent', 0)}, received {c.get('priority_zero_received', 0)}")
        drops = {k: v for k, v in (c.get("drops") or {}).items() if v}
        lines.append("    drops            " + (", ".join(f"{k} {v}" for k, v in sorted(drops.items())) or "none"))
    unclaimed = {k: v for k, v in (reply.get("unclaimed_drops") or {}).items() if v}
    lines.append("")
    lines.append("  packets no instance here claims: "
                 + (", ".join(f"{k} {v}" for k, v in sorted(unclaimed.items())) or "none"))
    return "\n".join(lines)


def _matches(inst: dict[str, Any], interface: str | None, vrid: int | None) -> bool:
    if vrid is not None and inst.get("vrid") != vrid:
        return False
    return interface is None or interface in (inst.get("interface"), inst.get("vmac"))


def _status_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vrrptui status", description="Ask running vrrptui daemons what they do "
                                     "(like FRR's `show vrrp [IFACE [VRID]] [json]`).")
    parser.add_argument("interface", nargs="?", metavar="IFACE", help="only instances on this interface "
                        "(a number alone is taken as the VRID)")
    parser.add_argument("vrid", nargs="?", type=int, metavar="VRID", help="only this virtual router id")
    parser.add_argument("--json", action="store_true", help="machine-readable output (one JSON document, "
                        "errors included)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--socket", metavar="PATH", help="the control socket of one vrrptui")
    target.add_argument("--pid", type=int, metavar="N", help="the vrrptui with this pid")
    args = parser.parse_args(argv)
    if args.interface is not None and args.interface.isdigit() and args.vrid is None:
        args.interface, args.vrid = None, int(args.interface)
    if args.vrid is not None and not 1 <= args.vrid <= 255:
        parser.error(f"VRID {args.vrid} is out of range: use 1-255")
    return args


def _status_paths(args: argparse.Namespace) -> tuple[list[Path], str | None]:
    if args.socket:
        return [Path(args.socket)], None
    try:  # a socket another user could have put there could forge a status or capture a command
        if os.path.lexists(runtime_dir()):
            check_directory(runtime_dir())
    except UnsafeDirectory as exc:
        return [], f"not trusting {runtime_dir()}: {exc}"
    if args.pid is not None:
        path = runtime_dir() / f"{args.pid}.sock"
        if not path.exists():
            return [], (f"no control socket for pid {args.pid} ({path} does not exist); is it a running vrrptui?")
        return [path], None
    paths = discover()
    if not paths:
        return [], (f"no running vrrptui found (no control socket in {runtime_dir()}/); "
                    f"start one with `vrrptui --headless CONF` or `vrrptui CONF`")
    return paths, None


def status_main(argv: list[str]) -> int:
    args = _status_args(argv)
    paths, error = _status_paths(args)
    errors = [error] if error else []
    replies = []
    for path in paths:
        try:
            reply = request(path, {"cmd": "status"})
        except ControlError as exc:
            errors.append(str(exc))
            continue
        if not reply.get("ok"):
            errors.append(f"{path}: {reply.get('error')}")
            continue
        reply["socket"] = str(path)
        reply["instances"] = [i for i in reply.get("instances", []) if _matches(i, args.interface, args.vrid)]
        replies.append(reply)
    filtered = args.interface is not None or args.vrid is not None
    if filtered and replies and not any(r["instances"] for r in replies):
        what = " ".join(x for x in (f"interface {args.interface}" if args.interface else "",
                                    f"VRID {args.vrid}" if args.vrid is not None else "") if x)
        errors.append(f"no vrrp_instance on {what} in any running vrrptui")
    if filtered:
        replies = [r for r in replies if r["instances"]]
    for message in errors:  # with --json they are in the JSON document too: scripts parse one format
        print(f"vrrptui status: {message}", file=sys.stderr)
    if args.json:
        json.dump({"daemons": replies, "errors": errors}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif replies:
        print(printable("\n\n".join(format_status(r) for r in replies)))  # no escape sequences from a reply
    return 0 if replies and not errors else 1
