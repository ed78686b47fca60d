"""track_file moves the priority (value * weight) and, with weight 0, a non-zero value means FAULT.

r1 (150) tracks a file with weight -10, r2 (130) tracks nothing; VRRPv3 at 0.1 s. Writing 3 makes r1
advertise 120, so r2 preempts; writing 0 gives r1 its 150 back and it preempts in turn. The file is
created by `init_file`. A second file with weight 0 puts r1 in FAULT while it holds a non-zero value.
The keepalived peer variant checks that the priority on the wire is the one keepalived would send.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # upper bound for anything to happen; never a performance claim


def tracked_conf(priority: int, weighted: Path, faulting: Path) -> str:
    top = f"""
track_file weighted {{
    file "{weighted}"
    weight -10
    init_file 0 overwrite
}}
track_file faulting {{
    file "{faulting}"
    weight 0
    init_file 0 overwrite
}}
"""
    return conf(priority, top=top, extra="track_file {\n        weighted\n        faulting\n    }")


def write(path: Path, value: int) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{value}\n")
    os.replace(tmp, path)  # as an operator's script would: never a half-written file


def r1_priority(lab: Lab, cap) -> int | None:  # type: ignore[no-untyped-def]
    adverts = [a for a in cap.adverts() if a.src == "192.168.1.11" and a.priority]
    return adverts[-1].priority if adverts else None


@pytest.mark.parametrize("peer", ["vrrptui", "keepalived"])
def test_track_file_value_moves_the_priority_and_weight_0_faults(lab: Lab, peer: str) -> None:
    weighted, faulting = lab.node_dir("r1") / "weighted", lab.node_dir("r1") / "faulting"
    cap = lab.capture()
    text = tracked_conf(150, weighted, faulting)
    p1 = lab.start_vrrptui("r1", text) if peer == "vrrptui" else lab.start_keepalived("r1", text)
    p2 = lab.start_vrrptui("r2", conf(130))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    assert weighted.read_text().strip() == "0"  # init_file

    write(weighted, 3)  # 150 + 3 * -10 = 120 < 130
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p1)
    assert lab.wait_for(lambda: r1_priority(lab, cap) == 120, WAIT), cap.adverts()[-5:]

    write(weighted, 0)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    assert lab.wait_for(lambda: r1_priority(lab, cap) == 150, WAIT)

    write(faulting, 1)  # weight 0: any non-zero value is FAULT
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p1)
    write(faulting, 0)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    lab.stop(p1)
    lab.stop(p2)
