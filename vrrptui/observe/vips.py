"""Who holds each VIP: on a local interface (netlink) and on the wire (ARP / NS answers).

Fed by the prober (`vrrptui.net.prober`), which asks for every VIP about once a
second. Split brain (two routers both think they own the address) shows two ways:
- two different MACs answer the same probe (seen from a backup or a bystander);
- the VIP is on a local interface and a MAC that is not ours answers for it (seen
  from a master: a router never hears its own kernel's answer, so it only ever sees
  the other one). Our MACs are the prober's interfaces and, for a use_vmac instance,
  its VMAC (RFC 5798 7.3). A peer master on the same VMAC answers with that same
  MAC, so that case shows only in the Peers pane (two masters advertising).
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass, field
from collections.abc import Callable

REPLY_WINDOW = 0.5  # seconds after a probe in which a reply belongs to it
ROUNDS_KEPT = 3  # probe rounds that can show split brain
ANSWER_TTL = 5.0  # an answering MAC is listed this long after its last answer


@dataclass(frozen=True, slots=True)
class Answer:
    mac: str
    owner: str | None  # the router (advert source address) that uses this MAC, "this host", or None
    last_at: float
    kind: str  # "reply" to our probe, or "announce" (gratuitous ARP / unsolicited NA)


@dataclass(frozen=True, slots=True)
class VipView:
    vip: str
    ifname: str | None
    local: bool | None  # None: not known (sniff mode, or netlink not read yet)
    local_since: float | None
    answers: tuple[Answer, ...]
    split_brain: bool
    last_probe: float | None
    split_brain_why: str = ""  # what the Flags column and the header say

    @property
    def row_key(self) -> str:
        return self.vip


@dataclass(slots=True)
class _Vip:
    ifname: str | None
    local: bool | None = None
    local_since: float | None = None
    rounds: deque[tuple[float, set[str]]] = field(default_factory=lambda: deque(maxlen=ROUNDS_KEPT))
    answers: dict[str, tuple[float, str]] = field(default_factory=dict)  # mac -> (last at, kind)
    vmac: str | None = None  # our VMAC for this VIP (use_vmac): our kernel answers from it


class VipPresence:
    def __init__(self, own_macs: tuple[str, ...] = ()) -> None:
        self._vips: dict[str, _Vip] = {}
        self.own_macs = {m.lower() for m in own_macs}

    def set_vmac(self, vip: str, vmac: str | None) -> None:
        """`vip` lives on our VMAC interface: answers from `vmac` are ours while the VIP is local."""
        s = self._vips.get(str(ipaddress.ip_address(vip)))
        if s is not None:
            s.vmac = vmac.lower() if vmac else None

    def set_vips(self, vips: list[tuple[str, str | None]]) -> None:
        """(address, interface) pairs to watch; others are forgotten."""
        wanted = {str(ipaddress.ip_address(v)): ifname for v, ifname in vips}
        for vip in list(self._vips):
            if vip not in wanted:
                del self._vips[vip]
        for vip, ifname in wanted.items():
            if vip not in self._vips:
                self._vips[vip] = _Vip(ifname)
            else:
                self._vips[vip].ifname = ifname

    def add_vip(self, vip: str, ifname: str | None) -> None:
        vip = str(ipaddress.ip_address(vip))
        self._vips.setdefault(vip, _Vip(ifname))

    def vips(self) -> list[tuple[str, str | None]]:
        return [(v, s.ifname) for v, s in self._vips.items()]

    # --- input ---------------------------------------------------------------------

    def local(self, vip: str, present: bool, at: float) -> bool:
        """Netlink says whether `vip` is on a local interface. True when that changed."""
        s = self._vips.get(vip)
        if s is None or s.local == present:
            return False
        s.local, s.local_since = present, at
        return True

    def probe_sent(self, vip: str, at: float) -> None:
        s = self._vips.get(vip)
        if s is not None:
            s.rounds.append((at, set()))

    def claim(self, vip: str, mac: str, at: float, kind: str = "reply") -> None:
        s = self._vips.get(vip)
        if s is None:
            return
        mac = mac.lower()
        s.answers[mac] = (at, kind)
        if kind == "reply" and s.rounds:
            probe_at, macs = s.rounds[-1]
            if probe_at <= at <= probe_at + REPLY_WINDOW:
                macs.add(mac)

    # --- queries -------------------------------------------------------------------

    def is_local(self, vip: str) -> bool | None:
        """Is `vip` (normalised text) on a local interface; None when not watched or not known yet."""
        s = self._vips.get(vip)
        return None if s is None else s.local

    def split_brain(self, vip: str) -> tuple[str, ...]:
        """The MACs that show split brain for `vip` (two owners of one address), or ()."""
        s = self._vips.get(vip)
        return () if s is None else self._split_brain(s)[0]

    def _ours(self, s: _Vip, mac: str) -> bool:
        return mac in self.own_macs or (mac == s.vmac and bool(s.local))

    def _split_brain(self, s: _Vip) -> tuple[tuple[str, ...], str]:
        """(MACs, why). Our own MACs count as one answer: a master with a VMAC may answer from both."""
        foreign: set[str] = set()
        both: set[str] = set()
        for probe_at, macs in s.rounds:
            others = {m for m in macs if not self._ours(s, m)}
            if len(others) >= 2 or (others and len(others) < len(macs)):
                both |= macs
            # The VIP was already here when we asked, so whoever else answered claims our address.
            if s.local and s.local_since is not None and probe_at >= s.local_since:
                foreign |= others
        if foreign:
            return tuple(sorted(foreign)), "here and another MAC answers"
        if both:
            return tuple(sorted(both)), "two MACs answer"
        return (), ""

    def _owner(self, s: _Vip, mac: str, mac_owner: Callable[[str], str | None]) -> str | None:
        return "this host" if self._ours(s, mac) else mac_owner(mac)

    def view(self, now: float, mac_owner: Callable[[str], str | None] = lambda mac: None) -> list[VipView]:
        rows = []
        for vip in sorted(self._vips, key=lambda v: (ipaddress.ip_address(v).version, ipaddress.ip_address(v))):
            s = self._vips[vip]
            answers = tuple(
                Answer(mac, self._owner(s, mac, mac_owner), at, kind)
                for mac, (at, kind) in sorted(s.answers.items(), key=lambda kv: -kv[1][0])
                if now - at <= ANSWER_TTL
            )
            macs, why = self._split_brain(s)
            rows.append(VipView(vip, s.ifname, s.local, s.local_since, answers, bool(macs),
                                s.rounds[-1][0] if s.rounds else None, why))
        return rows
