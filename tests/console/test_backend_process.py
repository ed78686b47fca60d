"""The console's engine in a process of its own (RuntimeBackend + vrrptui.daemon.worker).

- the worker drops observation batches, never blocks, when the console does not read
  (socketpair, no network);
- a command the engine refuses reaches the UI as a notification, across the process boundary;
- a start error in the worker reaches the UI, which stops with it;
- a crash in the UI: the worker resigns (priority 0) and removes the VIP;
- the console process killed with SIGKILL (or sent SIGTERM): the worker still resigns with
  priority 0 (tcpdump on the bridge) and removes the VIP.
"""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import json
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import psutil
import pytest

from vrrptui.protocol.packet import Advert
from vrrptui.engine.commands import Demote, SetPriority
from vrrptui.daemon.drillfile import DrillFile
from vrrptui.config.parser import parse_config
from vrrptui.console.app import VrrpConsole
from vrrptui.console.backends import RuntimeBackend
from vrrptui.records import Heard, RuntimeNote, StatusSnapshot
from vrrptui.daemon.worker import FrameReader, Outbox, frame
from vrrptui.engine.outputs import LogLine
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf
from vrrptui.observe.session import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from net_helpers import in_netns  # noqa: E402

R1 = "192.168.1.11"
WAIT = 10.0  # bound on how long a broken test may hang; not a performance claim
DRIVER = Path(__file__).with_name("pilot_driver.py")


# --- the worker's outbox: drop, never block ---------------------------------------------------

def _sent(i: int) -> Heard:
    src, dst = ipaddress.ip_address("192.168.1.11"), ipaddress.ip_address("224.0.0.18")
    return Heard("eth0", float(i), src, dst, 255, Advert.from_fields(3, 1, 100, 1.0, ["192.168.1.100"]), bytes(40),
                 outgoing=True)


def _read_all(sock: socket.socket) -> list:
    reader, out = FrameReader(), []
    while True:
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return out
        out.extend(reader.feed(data))


def test_outbox_drops_observation_batches_when_the_console_does_not_read():
    loop = asyncio.new_event_loop()
    theirs, ours = socket.socketpair()
    try:
        outbox = Outbox(theirs, loop, high_water=64 * 1024)
        ours.setblocking(False)
        snapshots, notes = [], []
        packets = 0
        for i in range(400):  # nobody reads `ours` meanwhile
            batch = [_sent(i * 100 + k) for k in range(100)]
            packets += len(batch)
            snapshots.append(StatusSnapshot(float(i), 1e9 + i, ()))
            batch.append(snapshots[-1])
            if i % 50 == 0:
                notes.append(RuntimeNote(float(i), "VI_1", f"note {i}"))
                batch.append(notes[-1])
            outbox.observe(batch)
            outbox.log(LogLine(f"line {i}"))
            outbox.flush()  # a non-blocking socket: returns whatever the console does
            assert outbox.backlog <= outbox.high_water + len(frame(("batch", tuple(batch), 0, 0))) + 1024
        assert outbox.dropped_batches > 0 and outbox.dropped_items > 0

        # The console reads again: what was kept goes out, the latest snapshot included.
        received = []
        while True:
            received.extend(_read_all(ours))
            outbox._write()  # what loop.add_writer would call
            outbox.flush()
            if not outbox.backlog and not outbox.pending:
                received.extend(_read_all(ours))
                break
        items = [item for m in received if m[0] == "batch" for item in m[1]]
        got_snapshots = [i for i in items if isinstance(i, StatusSnapshot)]
        assert got_snapshots[-1] == snapshots[-1]
        assert [i for i in items if isinstance(i, RuntimeNote)] == notes  # never dropped for packets
        got_packets = sum(isinstance(i, Heard) for i in items)
        last_batch = [m for m in received if m[0] == "batch"][-1]
        assert last_batch[2:] == (outbox.dropped_batches, outbox.dropped_items)
        assert got_packets + outbox.dropped_items == packets
        lines = [line.text for m in received if m[0] == "lines" for line in m[1]]
        assert lines[-1] == "line 399"
    finally:
        theirs.close()
        ours.close()
        loop.close()


def test_frame_reader_reassembles_frames_split_anywhere():
    data = frame(("reply", 1, None)) + frame(("reply", 2, ValueError("no")))
    reader, out = FrameReader(), []
    for i in range(len(data)):
        out.extend(reader.feed(data[i:i + 1]))
    assert out[0] == ("reply", 1, None)
    assert out[1][:2] == ("reply", 2) and str(out[1][2]) == "no"


# --- the real app on the real worker in a namespace ------------------------------------------

class NetnsBackend(RuntimeBackend):
    """Starts the worker from a thread that entered `ns`: the worker lives in that namespace."""

    def __init__(self, ns: str, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.ns = ns

    def run(self, observer):
        with in_netns(self.ns):
            return super().run(observer)


class RecordingConsole(VrrpConsole):
    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.notices: list[tuple[str, str]] = []

    def notify(self, message, *, severity="information", **kw):  # type: ignore[override]
        self.notices.append((str(message), severity))
        return super().notify(message, severity=severity, **kw)


def _console(lab: Lab, tmp_path: Path, text: str) -> RecordingConsole:
    from functools import partial

    from vrrptui.daemon.runtime import Runtime

    path = tmp_path / "console.conf"
    path.write_text(text)
    config = parse_config(str(path), check_interfaces=False)
    backend = NetnsBackend(lab.ns("r1"), config, runtime_factory=partial(Runtime, control_path=None))
    return RecordingConsole(Session(config, drill_store=DrillFile(tmp_path / "drills.jsonl")), backend, host=None,
                            lab_ping_path=tmp_path / "no-ping.log", pcap_dir=tmp_path, refresh_every=0.05)


async def _until(pilot, predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, what
        await pilot.pause(0.05)


@pytest.mark.netns
def test_a_refused_command_reaches_the_ui_from_the_worker(make_lab, tmp_path):
    lab = make_lab(routers=("r1",), clients=())
    app = _console(lab, tmp_path, conf(150))

    async def drive() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            await _until(pilot, lambda: "VI_1" in app.session.statuses, "no status from the worker")
            worker = app.backend.process
            assert worker is not None and worker.pid != os.getpid()
            app._command(SetPriority("VI_1", 300))
            app._command(Demote("VI_9"))
            await _until(pilot, lambda: len([n for n in app.notices if n[1] == "error"]) == 2, "no error notices")
            errors = [n[0] for n in app.notices if n[1] == "error"]
            assert "set_priority VI_1: priority 300 is out of range: use 1-254 (255 is the address owner's)" in errors
            assert "demote VI_9: no vrrp_instance 'VI_9' here (instances: VI_1)" in errors
            await pilot.press("q", "y")  # the master asks first
        assert app.backend.process.wait(WAIT) == 0

    asyncio.run(drive())
    assert app.return_code == 0 and app.failure is None


@pytest.mark.netns
def test_a_start_error_in_the_worker_stops_the_ui_with_it(make_lab, tmp_path):
    lab = make_lab(routers=("r1",), clients=())
    app = _console(lab, tmp_path, conf(150).replace("interface eth0", "interface vt-missing0"))

    async def drive() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            await _until(pilot, lambda: app.failure is not None, "the UI never saw the start error")

    asyncio.run(drive())
    assert app.return_value == 1  # what `vrrptui CONF` exits with, after printing the failure
    assert "vt-missing0" in app.failure, app.failure
    assert app.backend.start_error is not None and not app.backend.wait_started(0)


@pytest.mark.netns
def test_a_crash_in_the_ui_resigns_and_removes_the_vip(make_lab, tcpdump_ok, tmp_path):
    lab = make_lab(routers=("r1",), clients=())
    cap = lab.capture(bpf="vrrp")
    app = _console(lab, tmp_path, conf(150))

    def crash() -> None:
        raise RuntimeError("a bug in a pane")

    async def drive() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            await _until(pilot, lambda: lab.vip_holders(VIP) == ["r1"], "r1 never held the VIP")
            app.call_later(crash)
            await pilot.pause(0.5)

    with pytest.raises(RuntimeError, match="a bug in a pane"):
        asyncio.run(drive())
    assert app.backend.process.wait(WAIT) == 0
    assert not lab.has_vip("r1", VIP)
    time.sleep(0.2)
    assert [a.priority for a in cap.adverts() if a.src == R1][-1] == 0


# --- the console process dies: the worker still resigns ----------------------------------------

def _worker_of(pid: int) -> psutil.Process:
    found = [c for c in psutil.Process(pid).children() if "vrrptui.daemon.worker" in " ".join(c.cmdline())]
    assert len(found) == 1, found
    return found[0]


def _console_lab(make_lab):
    """r2 a vrrptui backup, tcpdump on the bridge, and r1's console config (priority 150)."""
    lab = make_lab(routers=("r1", "r2"), clients=())
    cap = lab.capture(bpf="vrrp")
    peer = lab.start_vrrptui("r2", conf(100))
    conf_path = lab.node_dir("r1") / "console.conf"
    conf_path.write_text(conf(150))
    return lab, cap, peer, conf_path


def _console_master(make_lab, tmp_path):
    """_console_lab with r1 the console process (its worker) master with the VIP."""
    lab, cap, peer, conf_path = _console_lab(make_lab)
    ui = lab.popen("r1", [sys.executable, str(DRIVER), "console", str(conf_path), str(tmp_path / "drills.jsonl")],
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    assert json.loads(ui.stdout.readline()) == {"ready": True}
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.vip_holders(VIP)
    return lab, cap, peer, ui


def _resigned_since(lab: Lab, cap, t: float) -> None:
    """r1's adverts since T (on the bridge) end with one priority 0, after its priority 150 ones, and r1 holds
    no VIP. A regular advert may leave between the clock read and the signal; the last one is priority 0."""
    time.sleep(0.3)
    ours = [a.priority for a in cap.adverts() if a.time >= t and a.src == R1]
    assert ours[-1:] == [0] and all(p == 150 for p in ours[:-1]), ours
    assert not lab.has_vip("r1", VIP)


@pytest.mark.netns
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_console_process_killed_the_worker_resigns_and_removes_the_vip(make_lab, tcpdump_ok, tmp_path, sig):
    lab, cap, peer, ui = _console_master(make_lab, tmp_path)
    try:
        worker = _worker_of(ui.pid)
        t_kill = time.time()
        os.kill(ui.pid, sig)
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.vip_holders(VIP)
        worker.wait(WAIT)  # it exits once it has cleaned up
        _resigned_since(lab, cap, t_kill)
    finally:
        if ui.poll() is None:
            ui.kill()
        lab.stop(peer)


@pytest.mark.netns
def test_the_worker_killed_alone_its_guardian_resigns_and_removes_the_vip(make_lab, tcpdump_ok, tmp_path):
    """SIGKILL to the worker (the OOM killer picks the engine's process): its guardian (daemon/guardian.py)
    sends the journalled priority-0 advert and removes the VIP, as for the daemon."""
    lab, cap, peer, ui = _console_master(make_lab, tmp_path)
    try:
        worker = _worker_of(ui.pid)
        assert lab.wait_for(lambda: [c for c in worker.children() if "vrrptui.daemon.guardian" in c.cmdline()], WAIT)
        guardian = next(c for c in worker.children() if "vrrptui.daemon.guardian" in c.cmdline())
        time.sleep(0.3)  # the journal follows the VIP
        t_kill = time.time()
        worker.send_signal(signal.SIGKILL)
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.vip_holders(VIP)
        guardian.wait(WAIT)
        _resigned_since(lab, cap, t_kill)
    finally:
        if ui.poll() is None:
            ui.kill()
        lab.stop(peer)


@pytest.mark.netns
def test_a_console_on_a_config_a_daemon_already_runs_in_this_namespace_is_refused(make_lab, tmp_path):
    from vrrptui.lab.namespaces import vrrptui_command

    lab = make_lab(routers=("r1",), clients=())
    app = _console(lab, tmp_path, conf(150))
    env = {k: v for k, v in os.environ.items() if k != "VRRPTUI_RUNTIME_DIR"}  # the worker's own default
    daemon = lab.popen("r1", [*vrrptui_command(), "-n", "-l", "-f", str(tmp_path / "console.conf")], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)

    async def drive() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            await _until(pilot, lambda: app.failure is not None, "the UI never saw the refusal")

    asyncio.run(drive())
    assert f"another vrrptui (pid {daemon.pid}) already runs with config" in app.failure, app.failure
    assert daemon.poll() is None and lab.vip_holders(VIP) == ["r1"]  # the daemon was not disturbed


@pytest.mark.netns
def test_sigterm_while_the_terminal_takes_no_output_still_resigns_and_ends(make_lab, tcpdump_ok, tmp_path):
    """The real console on a pseudo-terminal whose output is then stopped, as a stalled ssh session leaves it:
    Textual's writes block, and its loop with them, so the loop never runs a SIGTERM handler of its own. SIGTERM
    still ends it: the engine resigns (priority 0) and removes the VIP, and the process exits without its
    terminal (console/app.py: _exit_if_stuck)."""
    from vrrptui.console.app import STUCK_EXIT_AFTER
    from vrrptui.lab.namespaces import vrrptui_command

    lab, cap, peer, conf_path = _console_lab(make_lab)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 140, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "VRRPTUI_STATE_DIR": str(tmp_path / "state"),
           "VRRPTUI_RUNTIME_DIR": str(tmp_path / "run")}
    ui = lab.popen("r1", [*vrrptui_command(), str(conf_path)], stdin=slave, stdout=slave, stderr=slave, env=env)
    reading = threading.Event()
    reading.set()

    def drain() -> None:  # the terminal: reads what the console writes, until the test stops it
        while reading.is_set():
            try:
                if select.select([master], [], [], 0.1)[0]:
                    os.read(master, 65536)
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.vip_holders(VIP)
        termios.tcflow(slave, termios.TCOOFF)  # no more output reaches the terminal: every write blocks
        time.sleep(2.0)  # Textual's writer thread blocks, then its loop on the writer's full queue
        t_term = time.time()
        os.kill(ui.pid, signal.SIGTERM)
        ui.wait(STUCK_EXIT_AFTER + WAIT)
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.vip_holders(VIP)
        _resigned_since(lab, cap, t_term)
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait()
        reading.clear()
        reader.join(WAIT)
        os.close(master)
        os.close(slave)
        lab.stop(peer)
