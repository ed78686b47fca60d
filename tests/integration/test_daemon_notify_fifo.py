"""vrrp_notify_fifo: the same lines, in the same order, as keepalived 2.2.7 writes for the same config.

r2 alone in the default lab (VRRPv3, 0.1 s): it starts as BACKUP, takes over, and is stopped. The
test opens the FIFO for reading before the daemon starts, so every line stays in the pipe, and
reads them all once the daemon has exited. With vrrp_notify_priority_changes, a track_file moves
r2's priority while it is master (100 -> 80 -> 100, seen on the wire) before it is stopped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # upper bound for anything to happen; never a performance claim


def fifo_lines(lab: Lab, fifo: Path, start, text: str,  # type: ignore[no-untyped-def]
               while_master=None) -> list[str]:
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo, 0o600)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        proc = start(text)
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(proc)
        if while_master is not None:
            while_master(proc)
        lab.stop(proc)
        data = b""
        while True:
            try:
                chunk = os.read(reader, 65536)
            except BlockingIOError:  # empty, and the daemon still has it open: all read
                break
            if not chunk:  # end of file: the daemon closed it
                break
            data += chunk
    finally:
        os.close(reader)
    return data.decode().splitlines()


def test_vrrp_notify_fifo_lines_match_keepalived(lab: Lab) -> None:
    fifo = lab.node_dir("r2") / "notify.fifo"
    text = conf(100, top=f"global_defs {{\n    vrrp_notify_fifo {fifo}\n}}\n")
    theirs = fifo_lines(lab, fifo, lambda text: lab.start_keepalived("r2", text), text)
    ours = fifo_lines(lab, fifo, lambda text: lab.start_vrrptui("r2", text, ["--log-detail"]), text)
    assert theirs[:2] == ['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100'], theirs
    assert ours == theirs, (ours, theirs)
    assert theirs[-1].startswith('INSTANCE "VI_1" STOP'), theirs


def last_priority(cap) -> int | None:  # type: ignore[no-untyped-def]
    adverts = [a.priority for a in cap.adverts() if a.priority]
    return adverts[-1] if adverts else None


def test_priority_change_lines_match_keepalived(lab: Lab) -> None:
    fifo, tracked = lab.node_dir("r2") / "notify.fifo", lab.node_dir("r2") / "weighted"
    top = (f"global_defs {{\n    vrrp_notify_fifo {fifo}\n    vrrp_notify_priority_changes\n}}\n"
           f'track_file weighted {{\n    file "{tracked}"\n    weight -10\n    init_file 0 overwrite\n}}\n')
    text = conf(100, top=top, extra="track_file {\n        weighted\n    }")
    cap = lab.capture()

    def move_priority(proc) -> None:  # type: ignore[no-untyped-def]
        for value, priority in ((2, 80), (0, 100)):
            tracked.with_suffix(".tmp").write_text(f"{value}\n")
            os.replace(tracked.with_suffix(".tmp"), tracked)
            assert lab.wait_for(lambda p=priority: last_priority(cap) == p, WAIT), lab.log(proc)

    theirs = fifo_lines(lab, fifo, lambda text: lab.start_keepalived("r2", text), text, move_priority)
    ours = fifo_lines(lab, fifo, lambda text: lab.start_vrrptui("r2", text, ["--log-detail"]), text, move_priority)
    assert theirs[:4] == ['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100',
                          'INSTANCE "VI_1" MASTER_PRIORITY 80', 'INSTANCE "VI_1" MASTER_PRIORITY 100'], theirs
    assert ours == theirs, (ours, theirs)
