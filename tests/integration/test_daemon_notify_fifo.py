"""vrrp_notify_fifo: the same lines, in the same order, as keepalived 2.2.7 writes for the same config.

r2 alone in the default lab (VRRPv3, 0.1 s): it starts as BACKUP, takes over, and is stopped. The
test opens the FIFO for reading before the daemon starts, so every line stays in the pipe, and
reads them all once the daemon has exited.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # upper bound for anything to happen; never a performance claim


def fifo_lines(lab: Lab, fifo: Path, start) -> list[str]:  # type: ignore[no-untyped-def]
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo, 0o600)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        proc = start(conf(100, top=f"global_defs {{\n    vrrp_notify_fifo {fifo}\n}}\n"))
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(proc)
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
    theirs = fifo_lines(lab, fifo, lambda text: lab.start_keepalived("r2", text))
    ours = fifo_lines(lab, fifo, lambda text: lab.start_vrrptui("r2", text, ["--log-detail"]))
    assert theirs[:2] == ['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100'], theirs
    assert ours == theirs, (ours, theirs)
    assert theirs[-1].startswith('INSTANCE "VI_1" STOP'), theirs
