"""The control socket fails closed: trusted directory, race-free socket, bounded requests and clients.

Real Unix sockets in a temporary directory, the server on its own event loop; no network.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from vrrptui.daemon import control, controlguard
from vrrptui.daemon.control import ControlServer
from vrrptui.engine.commands import Command, Resume
from vrrptui.daemon.controlguard import (
    MAX_CLIENTS,
    MAX_REQUEST,
    bind_private,
    parse_request,
    printable,
)
from vrrptui.daemon.pidfile import UnsafeDirectory, check_directory, prepare_directory


class FakeRuntime:
    """What the server calls for commands; records them."""

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def command_now(self, cmd: Command) -> None:
        self.commands.append(cmd)


# --- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "why"), [
    (b"[" * 30_000, "longer than 4096 bytes"),
    (b"[" * 4000, "nested deeper than 4 levels"),
    (b'{"cmd": "set_priority", "instance": "VI_1", "priority": 1e400}', "out of range"),
    (b'{"cmd": "set_priority", "instance": "VI_1", "priority": NaN}', "NaN is not a number"),
    (b'{"cmd": "set_priority", "instance": "VI_1", "priority": -Infinity}', "-Infinity is not a number"),
    (b'{"cmd": "status", "x": "' + b"a" * 5000 + b'"}', "longer than 4096 bytes"),
    (b"\xff\xfe{}", "codec can't decode"),
    (b"[1]", "a request is a JSON object"),
])
def test_hostile_requests_are_refused_with_a_reason(line: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_request(line)
    reply = ControlServer(FakeRuntime(), "/nonexistent/x.sock").handle(line)  # type: ignore[arg-type]
    assert reply["ok"] is False and why in reply["error"]


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    assert parse_request(b'{"cmd": "status", "note": "[[[[[[[[{{{{{{\\"[["}') == {
        "cmd": "status", "note": '[[[[[[[[{{{{{{"[['}


def test_printable_shows_escape_sequences() -> None:
    assert printable("VI_1\x1b[2J\x1b]0;pwned\x07\nok") == "VI_1\\x1b[2J\\x1b]0;pwned\\x07\nok"


# --- the directory and the socket file -----------------------------------------------------------


def test_runtime_directory_of_another_user_or_writable_by_others_is_refused(tmp_path: Path) -> None:
    good = tmp_path / "run"
    good.mkdir(mode=0o755)
    check_directory(good)
    other = tmp_path / "other"
    other.mkdir(mode=0o755)
    os.chown(other, 65534, 65534)
    with pytest.raises(UnsafeDirectory, match="owned by uid 65534"):
        check_directory(other)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(UnsafeDirectory, match="writable by group or others"):
        check_directory(shared)
    link = tmp_path / "link"
    link.symlink_to(good)
    with pytest.raises(UnsafeDirectory, match="not a directory"):
        check_directory(link)


def test_status_client_refuses_an_untrusted_runtime_directory(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    out = subprocess.run([sys.executable, "-m", "vrrptui", "status"], capture_output=True, text=True,
                         env={**os.environ, "VRRPTUI_RUNTIME_DIR": str(tmp_path)})
    assert out.returncode == 1
    assert f"not trusting {tmp_path}" in out.stderr and "chmod go-w" in out.stderr


def test_runtime_directory_parents_are_made_0755_whatever_the_umask(tmp_path: Path) -> None:
    # `-u 0`: os.makedirs gave the parents 0777, so a user could swap a parent for a symlink
    old = os.umask(0)
    try:
        prepare_directory(tmp_path / "a" / "b" / "run")
    finally:
        os.umask(old)
    for path in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "run"):
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o755, path


def test_a_user_asking_for_status_trusts_roots_runtime_directory() -> None:
    # it was told to remove root's directory; now it is told no daemon is there for it
    with tempfile.TemporaryDirectory(dir="/tmp") as where:  # a path the user can reach (pytest's is 0700)
        run = Path(where) / "run"
        run.mkdir(mode=0o755)
        Path(where).chmod(0o755)
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                              "vrrptui", "status"], capture_output=True, text=True,
                             env={**os.environ, "VRRPTUI_RUNTIME_DIR": str(run)})
    assert "not trusting" not in out.stderr and "no running vrrptui found" in out.stderr, out.stderr


def test_socket_is_private_from_bind_and_replaces_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    path = tmp_path / "1.sock"
    path.symlink_to(victim)
    old = os.umask(0)  # the daemon's umask must not matter
    try:
        sock = bind_private(path)
    finally:
        os.umask(old)
    try:
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        assert victim.read_text() == "keep"
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    finally:
        sock.close()


# --- connections ---------------------------------------------------------------------------------


async def _open(path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_unix_connection(str(path))


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes) -> dict[str, Any]:
    writer.write(line + b"\n")
    await writer.drain()
    return json.loads(await reader.readline())


def serve(tmp_path: Path, body: Any) -> Any:
    async def main() -> Any:
        server = ControlServer(FakeRuntime(), str(tmp_path / "run" / "1.sock"))  # type: ignore[arg-type]
        await server.start()
        try:
            return await body(server)
        finally:
            await server.close()
    return asyncio.run(main())


def test_at_most_16_clients_and_the_17th_is_told(tmp_path: Path) -> None:
    async def body(server: ControlServer) -> None:
        clients = [await _open(server.path) for _ in range(MAX_CLIENTS)]
        for reader, writer in clients:  # each is being served
            assert (await _ask(reader, writer, b'{"cmd": "resume", "instance": "VI_1"}')) == {"ok": True}
        reader, writer = await _open(server.path)
        assert json.loads(await reader.readline()) == {"ok": False, "error": "busy: 16 clients connected"}
        assert await reader.read() == b""
        # `vrrptui status`'s client too: the server may close before its request is sent (a broken pipe)
        loop = asyncio.get_running_loop()
        for _ in range(20):
            answer = await loop.run_in_executor(None, control.request, server.path, {"cmd": "status"})
            assert answer == {"ok": False, "error": "busy: 16 clients connected"}
        clients[0][1].close()
        await asyncio.sleep(0.1)  # the server notices the close
        reader, writer = await _open(server.path)
        assert (await _ask(reader, writer, b'{"cmd": "resume", "instance": "VI_1"}')) == {"ok": True}
        assert server.runtime.commands[-1] == Resume("VI_1")  # type: ignore[attr-defined]
    serve(tmp_path, body)


def test_close_ends_a_connection_whose_reply_was_just_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon stops while a client has just had its answer (a monitor polling `status`): its connection ends
    with close(), not IDLE_TIMEOUT later (Python 3.11's wait_for dropped a cancel that met the finished drain)."""
    monkeypatch.setattr(control, "IDLE_TIMEOUT", 3600.0)

    async def main() -> None:
        server = ControlServer(FakeRuntime(), str(tmp_path / "run" / "1.sock"))  # type: ignore[arg-type]
        await server.start()
        reader, writer = await _open(server.path)
        assert (await _ask(reader, writer, b'{"cmd": "resume", "instance": "VI_1"}')) == {"ok": True}
        async with asyncio.timeout(5.0):  # bounds a broken close; in this task, so close() runs at once
            await server.close()
        assert not server._clients
        assert await reader.read() == b""  # closed by the server
        writer.close()
    asyncio.run(main())


class LargeStatus(ControlServer):
    """A status larger than the socket's buffers: a client that does not read it leaves the server's send
    waiting."""

    def status(self) -> dict[str, Any]:
        return {"blob": "x" * (8 << 20)}


async def _asked_and_unread(tmp_path: Path) -> tuple[ControlServer, asyncio.StreamWriter]:
    server = LargeStatus(FakeRuntime(), str(tmp_path / "run" / "1.sock"))  # type: ignore[arg-type]
    await server.start()
    _reader, writer = await _open(server.path)
    writer.write(b'{"cmd": "status"}\n')
    return server, writer


def test_a_client_that_never_reads_its_answer_holds_up_no_stop(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """stop() (before the resign) waits for nothing, and close() (after the VIPs are gone) ends within its bound
    even for a client that asked for a status larger than the socket's buffers and never reads it. Before, close()
    waited for that connection to flush, forever, and the daemon resigned only when systemd killed it."""
    monkeypatch.setattr(control, "IDLE_TIMEOUT", 3600.0)

    async def main() -> None:
        server, writer = await _asked_and_unread(tmp_path)
        await asyncio.sleep(0.3)  # the answer fills the socket; the server waits to send the rest
        assert len(server._clients) == 1
        server.stop()
        async with asyncio.timeout(5.0):  # bounds a broken close
            await server.close()
        writer.transport.abort()
    asyncio.run(main())


def test_a_client_that_never_reads_is_dropped_and_its_connection_ends(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Its answer never drains: after IDLE_TIMEOUT the connection is aborted, so it holds no descriptor (before,
    its handler waited forever for the close to flush)."""
    monkeypatch.setattr(control, "IDLE_TIMEOUT", 0.2)

    async def main() -> None:
        server, writer = await _asked_and_unread(tmp_path)
        await asyncio.sleep(2.0)  # the idle timeout, then at most 1 s for the close to flush
        assert not server._clients
        assert [t for t in asyncio.all_tasks() if "_serve" in getattr(t.get_coro(), "__qualname__", "")] == []
        writer.transport.abort()
        await server.close()
    asyncio.run(main())


def test_idle_client_is_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "IDLE_TIMEOUT", 0.2)

    async def body(server: ControlServer) -> None:
        reader, writer = await _open(server.path)
        writer.write(b'{"cmd": "sta')  # never finishes the line
        assert await reader.read() == b""  # closed by the server
        assert not server._clients
    serve(tmp_path, body)


def test_oversized_request_is_answered_and_the_connection_closed(tmp_path: Path) -> None:
    async def body(server: ControlServer) -> None:
        reader, writer = await _open(server.path)
        writer.write(b"[" * (MAX_REQUEST * 4))
        reply = json.loads(await reader.readline())
        assert reply == {"ok": False, "error": f"request longer than {MAX_REQUEST} bytes"}
    serve(tmp_path, body)


def test_closing_with_clients_connected_is_quiet(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    async def body(server: ControlServer) -> list[Any]:
        return [await _open(server.path) for _ in range(3)]
    serve(tmp_path, body)
    assert "Traceback" not in capfd.readouterr().err


def test_server_refuses_a_runtime_directory_writable_by_others(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(0o777)
    with pytest.raises(UnsafeDirectory):
        serve(tmp_path, lambda server: asyncio.sleep(0))
    assert not (run / "1.sock").exists()


def test_socket_mode_is_0600(tmp_path: Path) -> None:
    async def body(server: ControlServer) -> int:
        return stat.S_IMODE(os.lstat(server.path).st_mode)
    assert serve(tmp_path, body) == 0o600
    assert controlguard.IDLE_TIMEOUT == 10.0


def test_raw_socket_connect_after_close_is_refused(tmp_path: Path) -> None:
    serve(tmp_path, lambda server: asyncio.sleep(0))
    with socket.socket(socket.AF_UNIX) as s, pytest.raises(OSError):
        s.connect(str(tmp_path / "run" / "1.sock"))
