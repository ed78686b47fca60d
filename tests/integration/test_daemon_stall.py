"""A backup that stalls (SIGSTOP, a paused VM, a frozen cgroup) and resumes reads what it missed first.

After SIGCONT, epoll_wait returns with its deadline gone and asyncio ran the overdue Master_Down_Timer
before the socket's reader: the backup took over from a live master whose adverts sat queued, sent
an advert and gratuitous ARPs, then heard the master and handed back (the VIP on both routers, two
elections). keepalived 2.2.7 in the same test sends nothing.
"""

from __future__ import annotations

import signal
import time

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # bounds a hang only


@pytest.mark.parametrize("stall", [0.5, 2.0])
def test_a_backup_resuming_from_a_stall_reads_the_masters_adverts_before_its_timer(lab: Lab, stall: float) -> None:
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    p2 = lab.start_vrrptui("r2", conf(100), ["--log-detail"])
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p2)
    time.sleep(0.5)
    cap = lab.capture(bpf="vrrp")
    time.sleep(0.3)
    p2.send_signal(signal.SIGSTOP)
    time.sleep(stall)  # several Master_Down_Intervals (0.36 s)
    p2.send_signal(signal.SIGCONT)
    time.sleep(1.0)
    assert "Entering MASTER STATE" not in lab.log(p2), lab.log(p2)
    assert not [a for a in cap.adverts() if a.src == lab.ip4("r2")]  # not one advert from the backup
    assert lab.vip_holders(VIP) == ["r1"]
