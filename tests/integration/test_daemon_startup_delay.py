"""vrrp_startup_delay: the daemon starts, but sends and changes nothing until the delay has passed.

keepalived's option for bonds that pass traffic and then pause while they settle at boot: an instance
started at once would miss the master's adverts and take over. r2 alone in the default lab (VRRPv3,
0.1 s); the bound asserted is the configured delay itself, a protocol behaviour, not a performance claim.
"""

from __future__ import annotations

import time

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # upper bound for anything to happen; never a performance claim


def test_vrrp_startup_delay_holds_every_instance_back(lab: Lab) -> None:
    # keepalived's vrrp_startup_delay: the daemon starts, but sends and changes nothing until the delay is over
    cap = lab.capture()
    p2 = lab.start_vrrptui("r2", conf(100, top="global_defs {\n    vrrp_startup_delay 1.5\n}\n"), ["--log-detail"])
    started = time.time()
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p2)
    adverts = [a for a in cap.adverts() if a.src == "192.168.1.12"]
    assert adverts and adverts[0].time >= started + 1.5, (started, adverts[:1])
    assert "Delaying startup for 1.5 seconds" in lab.log(p2)
