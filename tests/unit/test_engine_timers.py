"""The engine's timer heap must always agree with the earliest deadline of its machines.

Random sequences of adverts, timer expiries and operator commands over many instances (with
and without a sync group) compare Engine.get_timer() with a scan of every machine.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

import pytest

from test_engine import config, wire
from test_machine import advert_for, instance, vip
from vrrptui.engine.commands import CommandError, Demote, Failover, Resume, SetPriority
from vrrptui.config.model import SyncGroup
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import State
from vrrptui.protocol.packet import MCAST_V4

PEERS = [ipaddress.IPv4Address(f"10.0.0.{i}") for i in (2, 3, 200)]


def many(n: int, grouped: bool):
    instances = tuple(
        replace(instance(name=f"VI_{i}", virtual_ipaddresses=(vip(f"10.1.{i}.1/32"),)), vrid=i,
                priority=50 + (i * 37) % 150, version=3, advert_int=0.1)
        for i in range(1, n + 1)
    )
    groups = (SyncGroup("G", ("VI_1", "VI_2", "VI_3")),) if grouped else ()
    return config(*instances, sync_groups=groups)


def earliest(engine: Engine) -> float | None:
    deadlines = [t for m in engine.machines if (t := m.get_timer()) is not None]
    return min(deadlines, default=None)


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_timer_heap_matches_a_scan_of_every_machine(seed: int, grouped: bool) -> None:
    rng = random.Random(seed)
    cfg = many(12, grouped)
    engine = Engine(cfg, {i.name: ipaddress.IPv4Address("10.0.0.1") for i in cfg.instances})
    now = 0.0
    engine.start(now)
    names = [i.name for i in cfg.instances]
    for _ in range(600):
        before = engine.get_timer()
        assert before == earliest(engine)
        epoch = engine.timer_epoch
        step = rng.random()
        if step < 0.45:  # an advert from a peer, any priority including 0
            machine = engine.machine(rng.choice(names))
            ad = advert_for(machine, rng.choice([0, 1, 100, 254]))
            engine.receive_packet("eth0", rng.choice(PEERS), MCAST_V4, 255, wire(ad, rng.choice(PEERS)), now)
        elif step < 0.85:  # the clock reaches the next deadline
            t = engine.get_timer()
            if t is not None:
                now = max(now, t)
                engine.handle_timer(now)
        else:  # an operator command
            name = rng.choice(names)
            command = rng.choice([SetPriority(name, rng.randint(1, 254)), Demote(name), Resume(name), Failover(name)])
            try:
                engine.command(command, now)
            except CommandError:
                pass
        if engine.timer_epoch == epoch:  # a timer armed at `before` stays valid: nothing became earlier
            after = engine.get_timer()
            assert after is None if before is None else (after is not None and after >= before)
        now += rng.random() * 0.05
    assert engine.get_timer() == earliest(engine)
    # a running machine always has a deadline, unless the operator holds it (demote / failover)
    assert all(m.get_timer() is not None for m in engine.machines
               if m.state in (State.BACKUP, State.MASTER) and m.held is None)


def test_a_backup_hearing_its_master_pushes_no_timer_entry_per_advert() -> None:
    cfg = many(5, grouped=False)
    engine = Engine(cfg, {i.name: ipaddress.IPv4Address("10.0.0.1") for i in cfg.instances})
    engine.start(0.0)
    engine.get_timer()
    epoch = engine.timer_epoch
    now = 0.0
    for _ in range(100):  # every instance hears a higher-priority master every 0.1 s
        now += 0.1
        for machine in engine.machines:
            ad = advert_for(machine, 255 if machine.effective_priority == 254 else 254)
            engine.receive_packet("eth0", PEERS[2], MCAST_V4, 255, wire(ad, PEERS[2]), now)
    assert engine.timer_epoch == epoch  # every deadline moved later: an armed timer stays valid
    assert len(engine._deadlines) == 5
    first_down = min(m.master_down_interval for m in engine.machines)
    assert engine.get_timer() == earliest(engine) == pytest.approx(now + first_down)
    resigned = advert_for(engine.machines[3], 0)  # priority 0: that backup's deadline becomes earlier (Skew_Time)
    engine.receive_packet("eth0", PEERS[2], MCAST_V4, 255, wire(resigned, PEERS[2]), now + 0.01)
    assert engine.timer_epoch != epoch
    assert engine.get_timer() == earliest(engine) == pytest.approx(now + 0.01 + engine.machines[3].skew_time)
