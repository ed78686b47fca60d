"""Carrying out a batch of the engine's actions on the network and the host, network first.

A new master's VIP requests and GARP / NA frames were built when it became backup (else they are
built before its advert goes); priority-0 adverts leave ahead of the rest of the batch; then, in the
engine's order, adverts, VIP changes and the first GARPs / NAs, back to back. The runtime
(`runtime.Runtime._process`) reports the batch's log lines, observer events and notify scripts after this.
"""

from __future__ import annotations

from collections.abc import Mapping

from vrrptui.config.model import VrrpInstance
from vrrptui.daemon.garp_schedule import GratuitousSchedule
from vrrptui.daemon.host import HostChanges
from vrrptui.daemon.sender import AdvertSender
from vrrptui.engine.outputs import (
    Action, AddVips, LogFn, LogLine, LowerPriorityGratuitous, Output, RemoveVips, SendAdvert, StartGratuitous,
    StopGratuitous,
)


def carry_out(batch: list[Output], instances: Mapping[str, VrrpInstance], host: HostChanges | None,
              garp: GratuitousSchedule | None, sender: AdvertSender | None) -> list[VrrpInstance]:
    """The batch's actions; returns the instances whose VIPs went up (their routes and journal follow)."""
    settling: list[VrrpInstance] = []
    if host is not None:
        for out in batch:
            if isinstance(out, AddVips | StartGratuitous) and (inst := instances.get(out.instance)) is not None:
                (host.prepare_vips if isinstance(out, AddVips) else host.prepare_announcements)(inst)
    if sender is not None:
        sender.resign_first(batch, instances)
    for out in batch:
        match out:
            case SendAdvert():
                if out.priority and (inst := instances.get(out.instance)) is not None and sender is not None:
                    sender.send(inst, out.priority)
            case AddVips():
                if (inst := instances.get(out.instance)) is not None and host is not None:
                    host.add_vips(inst)
                    settling.append(inst)
            case RemoveVips() if host is not None:
                host.remove_vips(out.instance)
            case StartGratuitous():
                if (inst := instances.get(out.instance)) is not None and garp is not None:
                    garp.start(inst)
            case LowerPriorityGratuitous():
                if (inst := instances.get(out.instance)) is not None and garp is not None:
                    garp.lower_priority(inst)
            case StopGratuitous() if garp is not None:
                garp.stop(out.instance)
    return settling


def at_once(action: Action, instances: Mapping[str, VrrpInstance], host: HostChanges, garp: GratuitousSchedule | None,
            sender: AdvertSender | None, log: LogFn) -> list[VrrpInstance]:
    """What the engine hands over (`Engine(urgent=...)`) before it works out the rest of a transition: a
    step-down's VIP removal; a master's priority-0 advert as it loses its address; a takeover's VIPs, advert
    and GARPs (the VIPs first where nobody holds them, else the advert; what was not built when it became
    backup is built first). Returns the instances whose VIPs went up, as carry_out. An error is logged: the
    engine's transition goes on."""
    try:
        if isinstance(action, RemoveVips):
            host.remove_vips(action.instance)
            return []
        inst = instances.get(action.instance) if isinstance(action, SendAdvert | AddVips | StartGratuitous) else None
        if inst is None:
            return []
        if isinstance(action, SendAdvert) and sender is not None:
            if action.priority:  # a takeover's first advert
                if inst.name not in host.added_vips:  # (else its VIPs went up first)
                    host.prepare_vips(inst)
                host.prepare_announcements(inst)
            sender.send(inst, action.priority)
        elif isinstance(action, AddVips):
            host.add_vips(inst)
            return [inst]
        elif isinstance(action, StartGratuitous) and garp is not None:
            garp.start(inst)
    except Exception as exc:
        what = {RemoveVips: "remove VIPs", SendAdvert: "send advert", AddVips: "add VIPs"}.get(type(action), "announce")
        log(LogLine(f"({getattr(action, 'instance', '?')}) cannot {what}: {exc!r}", level="error"))
    return []
