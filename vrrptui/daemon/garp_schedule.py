"""When to send gratuitous ARPs / unsolicited neighbour adverts after becoming master.

keepalived's defaults (vrrp.c, garp settings in keepalived.conf(5)): on entering MASTER a
burst of `garp_master_repeat` (5) per VIP at once, a second burst `garp_master_delay`
(5 s) later, then, if `garp_master_refresh` is set, `garp_master_refresh_repeat` every
refresh period while master. `garp_interval` / `gna_interval` space the packets of a
burst. This module only keeps the schedule on the loop; `send_burst` does the sending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vrrptui.config.model import VrrpInstance

# send_burst(instance, count, spacing, first) sends `count` rounds for every VIP of the instance
SendBurst = Callable[[VrrpInstance, int, float, bool], None]


class GratuitousSchedule:
    def __init__(self, loop: asyncio.AbstractEventLoop, send_burst: SendBurst) -> None:
        self._loop = loop
        self._send_burst = send_burst
        self._handles: dict[str, list[asyncio.TimerHandle]] = {}

    def start(self, instance: VrrpInstance) -> None:
        """Entering MASTER: first burst now, the delayed one later, then the refreshes."""
        self.stop(instance.name)
        spacing = max(instance.garp_interval, instance.gna_interval)
        handles: list[asyncio.TimerHandle] = []
        self._handles[instance.name] = handles
        self._send_burst(instance, instance.garp_master_repeat, spacing, True)
        if instance.garp_master_delay > 0:
            handles.append(self._loop.call_later(
                instance.garp_master_delay, self._send_burst, instance, instance.garp_master_repeat, spacing, False
            ))
        if instance.garp_master_refresh > 0:
            first = max(instance.garp_master_delay, 0.0) + instance.garp_master_refresh
            handles.append(self._loop.call_later(first, self._refresh, instance))

    def lower_priority(self, instance: VrrpInstance) -> None:
        """A lower-priority master was heard: `garp_lower_prio_repeat` now and again after `garp_lower_prio_delay`."""
        spacing = max(instance.garp_interval, instance.gna_interval)
        handles = self._handles.setdefault(instance.name, [])
        self._send_burst(instance, instance.garp_lower_prio_repeat, spacing, False)
        if instance.garp_lower_prio_delay > 0:
            now = self._loop.time()
            handles[:] = [h for h in handles if h.when() > now and not h.cancelled()]
            handles.append(self._loop.call_later(instance.garp_lower_prio_delay, self._send_burst, instance,
                                                 instance.garp_lower_prio_repeat, spacing, False))

    def _refresh(self, instance: VrrpInstance) -> None:
        handles = self._handles.get(instance.name)
        if handles is None:
            return
        self._send_burst(
            instance, instance.garp_master_refresh_repeat, max(instance.garp_interval, instance.gna_interval), False
        )
        # keep the list short: the fired refresh handle is replaced by the next one
        handles[:] = [h for h in handles if h.when() > self._loop.time()] if handles else []
        handles.append(self._loop.call_later(instance.garp_master_refresh, self._refresh, instance))

    def stop(self, name: str) -> None:
        for handle in self._handles.pop(name, []):
            handle.cancel()

    def stop_all(self) -> None:
        for name in list(self._handles):
            self.stop(name)

    def active(self, name: str) -> bool:
        return name in self._handles
