"""A vrrp_script's first result counts at once, as keepalived's INIT state has it.

r1 tracks a health check that fails from the start (`/bin/false`, interval 1 s, fall 3). Before, the
script counted as OK until three failures: r1 took the VIP with priority 120 (weight +20) from r2 at
110, or became MASTER at 150 with a weight-0 check, for ~2 s, then dropped out again (two failovers
for a router whose service was down). keepalived never advertises there (hunt, keepalived 2.2.7).
"""

from __future__ import annotations

import time

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # bounds a hang only


def check(weight: int) -> str:
    return (f'vrrp_script chk {{\n    script "/bin/false"\n    interval 1\n    fall 3\n    rise 1\n'
            f'    weight {weight}\n}}\n')


@pytest.mark.parametrize(("weight", "priority", "state"), [(20, 100, "BACKUP"), (0, 150, "FAULT")])
def test_a_health_check_failing_from_the_start_never_lets_the_router_take_over(
        lab: Lab, weight: int, priority: int, state: str) -> None:
    p2 = lab.start_vrrptui("r2", conf(110), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p2)
    cap = lab.capture(bpf="vrrp")
    time.sleep(0.3)
    p1 = lab.start_vrrptui("r1", conf(priority, top=check(weight), extra="track_script {\n        chk\n    }"),
                           ["--log-detail"])
    assert lab.wait_for(lambda: "VRRP_Script(chk) failed" in lab.log(p1), WAIT), lab.log(p1)
    time.sleep(3.5)  # past the three runs `fall` would have waited for
    log = lab.log(p1)
    assert "Entering MASTER STATE" not in log, log
    assert f"(VI_1) Entering {state} STATE" in log, log
    assert not [a for a in cap.adverts() if a.src == lab.ip4("r1")], log  # not one advert from r1
    assert lab.vip_holders(VIP) == ["r2"]
