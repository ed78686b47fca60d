"""The Runtime hosted in a worker thread, as the console hosts it: observer, commands, stop.

The worker thread enters r1's network namespace (setns affects only the calling
thread), so the runtime's sockets, netlink and child processes live there while the
test thread stays in the root namespace. r2 runs headless vrrptui as the peer.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from net_helpers import enter_netns

from vrrptui.engine.commands import Demote, SetPriority
from vrrptui.config.parser import parse_config
from vrrptui.records import Heard, StatusSnapshot
from vrrptui.daemon.runtime import Runtime
from vrrptui.engine.outputs import LogLine, StateChanged
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf
from vrrptui.protocol.packet import Advert

pytestmark = pytest.mark.netns

WAIT = 10.0



class Host:
    """A runtime in a thread in `ns`, collecting what it observes."""

    def __init__(self, ns: str, conf_path: Path, control: Path) -> None:
        self.batches: list[tuple[Any, ...]] = []
        self.lines: list[LogLine] = []
        self.observer_threads: set[str] = set()
        self.runtime = Runtime(parse_config(str(conf_path), check_interfaces=False), log=self.lines.append,
                               observer=self.observe, control_path=str(control))
        self.exit_code: int | None = None
        self.thread = threading.Thread(target=self._run, args=(ns,), name="vrrptui-runtime", daemon=True)
        self.thread.start()

    def _run(self, ns: str) -> None:
        enter_netns(ns)
        self.exit_code = self.runtime.run_forever()

    def observe(self, batch: tuple[Any, ...]) -> None:
        self.observer_threads.add(threading.current_thread().name)
        self.batches.append(batch)

    def seen(self, kind: type) -> list[Any]:
        return [o for batch in list(self.batches) for o in batch if isinstance(o, kind)]

    def received(self) -> list[Heard]:
        return [h for h in self.seen(Heard) if not h.outgoing]

    def state(self) -> str | None:
        snaps = self.seen(StatusSnapshot)
        return snaps[-1].instances[0].state if snaps else None


def test_runtime_in_a_worker_thread_reports_to_its_observer_and_obeys_commands(lab: Lab) -> None:
    peer = lab.start_vrrptui("r2", conf(150))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(peer)
    conf_path = lab.node_dir("r1") / "runtime.conf"
    conf_path.write_text(conf(100))
    host = Host(lab.ns("r1"), conf_path, lab.node_dir("r1") / "control.sock")
    try:
        assert host.runtime.started.wait(WAIT) and host.runtime.start_error is None
        assert lab.wait_for(lambda: host.state() == "BACKUP" and len(host.received()) >= 3, WAIT)
        received = host.received()[-1]
        assert isinstance(received.result, Advert) and received.result.priority == 150
        assert (str(received.src), received.ttl, received.ifname) == ("192.168.1.12", 255, "eth0")
        snap = host.seen(StatusSnapshot)[-1]
        assert snap.instances[0].master_address == "192.168.1.12"
        assert abs(snap.wall - time.time()) < 60  # a wall-clock stamp, not a monotonic one

        # operator: raise our priority above the master's -> we preempt it
        host.runtime.command(SetPriority("VI_1", 200)).result(timeout=WAIT)
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), [entry.text for entry in host.lines]
        assert lab.wait_for(lambda: host.state() == "MASTER", WAIT)
        sent = [h for h in host.seen(Heard) if h.outgoing]
        assert sent and isinstance(sent[-1].result, Advert) and sent[-1].result.priority == 200
        changes = [(e.old.value, e.new.value, e.reason.value) for e in host.seen(StateChanged)]
        assert ("BACKUP", "MASTER", "master down timer expired") in changes or \
               ("BACKUP", "MASTER", "preempted") in changes, changes
        with pytest.raises(ValueError, match="1-254"):
            host.runtime.command(SetPriority("VI_1", 0)).result(timeout=WAIT)
        with pytest.raises(ValueError, match="VI_7"):
            host.runtime.command(Demote("VI_7")).result(timeout=WAIT)
        assert [s.state for s in host.runtime.status().result(timeout=WAIT)] == ["MASTER"]
    finally:
        host.runtime.stop()
        host.thread.join(WAIT)
    assert not host.thread.is_alive()
    assert host.exit_code == 0
    assert host.observer_threads == {"vrrptui-runtime"}  # called on the loop thread only
    # resigned: r2 takes the VIP back, r1 keeps nothing, the control socket is gone
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT)
    assert not (lab.node_dir("r1") / "control.sock").exists()


def test_a_crash_on_the_loop_still_resigns_and_removes_the_vips(lab: Lab) -> None:
    peer = lab.start_vrrptui("r2", conf(100))
    conf_path = lab.node_dir("r1") / "runtime.conf"
    conf_path.write_text(conf(150))
    host = Host(lab.ns("r1"), conf_path, lab.node_dir("r1") / "control.sock")
    try:
        assert host.runtime.started.wait(WAIT)
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), [entry.text for entry in host.lines]
        cap = lab.capture()
        loop = host.runtime.loop
        assert loop is not None

        def bug() -> None:
            raise ZeroDivisionError("a bug somewhere in the runtime")

        loop.call_soon_threadsafe(bug)
        host.thread.join(WAIT)
    finally:
        host.runtime.stop()
        host.thread.join(WAIT)
    assert host.exit_code == 1
    assert any("internal error, stopping: ZeroDivisionError" in entry.text for entry in host.lines)
    assert "r1" not in lab.vip_holders(VIP)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(peer)
    assert any(a.src == "192.168.1.11" and a.priority == 0 for a in cap.adverts())
