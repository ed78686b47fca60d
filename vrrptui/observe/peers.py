"""Every VRRP router heard on a segment, with what is wrong about it.

Keyed by (interface, VRID, family), including VRIDs we do not run. Each source is
compared with our configured instance for that key (or, in `sniff` mode without a
config, with the other routers of the VRID), and two concurrent masters of one VRID
are flagged as split brain.

The current master of a VRID is the source of the most recent advert with priority
> 0, unless a higher-priority (equal priority: higher address, RFC 5798 6.4.3) source
is still advertising (has not missed an advert), and only while that advert is within
its Master_Down_Interval. So the router that lost a preemption or handover is shown as
backup at once, not for the rest of its master-down interval.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from vrrptui.config.model import Config, VrrpInstance
from vrrptui.observe.addresses import MAX_SOURCES, address_order, address_text
from vrrptui.records import Heard, RouterKey
from vrrptui.protocol.packet import AUTH_NONE, AUTH_PASS, Advert, ChecksumForm, Drop, DropReason
from vrrptui.observe.health import RouterSeen
from vrrptui.protocol.timers import master_down_interval

RATE_WINDOW = 10.0  # seconds of adverts kept per source for adverts/s and split brain
FORGET_AFTER = 600.0  # a router silent this long leaves the table
RECENT_MAX = 2000  # adverts kept per source: RATE_WINDOW at 200/s, twice VRRPv3's fastest (0.01 s)
HISTORY_MAX = 16  # state changes kept per source for the peer detail
LAST_ADVERTS = 8  # adverts kept whole per source for the peer detail


class Mismatch(enum.Enum):
    """A field where a router disagrees with us (values are what the Peers pane shows)."""

    INTERVAL = "interval"
    VIPS = "vips"
    AUTH = "auth"
    VERSION = "version"
    CHECKSUM_FORM = "cksum-form"
    CHECKSUM = "bad-cksum"
    TTL = "ttl"


@dataclass(frozen=True, slots=True)
class Reference:
    """What a router of this VRID should advertise."""

    version: int
    interval: float
    vips: frozenset[str]
    auth: tuple[int, str]  # (auth type, password)
    checksum_form: ChecksumForm | None  # None: any form is fine

    @classmethod
    def from_instance(cls, inst: VrrpInstance) -> Reference:
        auth = (AUTH_NONE, "")
        if inst.version == 2 and inst.authentication is not None and inst.authentication.auth_type == "PASS":
            auth = (AUTH_PASS, inst.authentication.auth_pass)
        # We send the pseudo-header form on v3/IPv4 (VRRP-FACTS: keepalived's); v2 and IPv6 have one form.
        form = ChecksumForm.PSEUDO if inst.version == 3 and inst.family == 4 else None
        return cls(inst.version, inst.advert_int, frozenset(str(v.address) for v in inst.advertised_vips), auth, form)

    @classmethod
    def from_advert(cls, advert: Advert) -> Reference:
        form = advert.checksum_form if advert.version == 3 and advert.family == 4 else None
        return cls(advert.version, advert.max_advert_int, frozenset(map(str, advert.addresses)),
                   (advert.auth_type, advert.auth_pass if advert.auth_type == AUTH_PASS else ""), form)


@dataclass(slots=True)
class _Source:
    src: str
    first_seen: float
    last_seen: float = 0.0
    src_mac: str | None = None
    local: bool = False
    last_advert: Advert | None = None
    last_advert_at: float = 0.0
    ttl: int = 255
    unicast: bool = False
    adverts: int = 0
    recent: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=RECENT_MAX))  # (at, priority)
    drops: dict[str, int] = field(default_factory=dict)
    last_bad_checksum: float | None = None
    history: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=HISTORY_MAX))
    last_adverts: deque[tuple[float, Advert]] = field(default_factory=lambda: deque(maxlen=LAST_ADVERTS))


@dataclass(frozen=True, slots=True)
class IntervalStats:
    """Gaps between one source's adverts over the kept window (RATE_WINDOW), in seconds."""

    count: int
    mean: float
    low: float
    high: float
    jitter: float  # standard deviation of the gaps


@dataclass(frozen=True, slots=True)
class PeerDetail:
    """Everything known about one source, for the Peers pane's detail view."""

    peer: Peer
    history: tuple[tuple[float, str], ...]  # (at, what), oldest first
    last_adverts: tuple[tuple[float, Advert], ...]
    intervals: IntervalStats | None


@dataclass(frozen=True, slots=True)
class Peer:
    """One row of the Peers pane, as of `now`."""

    key: RouterKey
    src: str
    src_mac: str | None
    local: bool  # our own adverts (sniffed outgoing)
    configured: bool  # we run an instance for this key
    version: int | None
    priority: int | None
    interval: float | None
    auth: str  # "none", "pass:secret", "ah", "?"
    vips: tuple[str, ...]
    adverts: int
    adverts_per_s: float
    last_seen: float
    drops: dict[str, int]
    mismatches: tuple[Mismatch, ...]
    split_brain: bool
    master: bool  # the VRID's current master (module docstring), or one of two split-brain masters

    @property
    def row_key(self) -> str:
        return f"{self.key.ifname}/{self.key.vrid}/{self.key.family}/{self.src}"


class PeerTable:
    def __init__(self, config: Config | None = None) -> None:
        self._sources: dict[RouterKey, dict[str, _Source]] = {}
        self._references: dict[RouterKey, Reference] = {}
        self._current: dict[RouterKey, str] = {}  # the current master's source, by VRID
        self.set_config(config)

    def set_config(self, config: Config | None) -> None:
        self._references = {}
        if config is None:
            return
        for inst in config.instances:
            if inst.interface is not None:
                self._references[RouterKey(inst.interface, inst.vrid, inst.family)] = Reference.from_instance(inst)

    # --- input ---------------------------------------------------------------------

    def heard(self, h: Heard) -> None:
        key = h.key
        if key is None:
            return
        sources = self._sources.setdefault(key, {})
        src = address_text(h.src)
        s = sources.get(src)
        if s is None:
            if len(sources) >= MAX_SOURCES:
                quietest = min((o for o in sources.values() if o.src != self._current.get(key)),
                               key=lambda o: o.last_seen)
                del sources[quietest.src]
            s = sources[src] = _Source(src, first_seen=h.at)
        s.last_seen = max(s.last_seen, h.at)
        s.src_mac = h.src_mac or s.src_mac
        s.local = s.local or h.outgoing
        s.ttl = h.ttl
        s.unicast = not h.dst.is_multicast
        if isinstance(h.result, Drop):
            s.drops[h.result.reason.value] = s.drops.get(h.result.reason.value, 0) + 1
            if h.result.reason is DropReason.CHECKSUM:
                s.last_bad_checksum = h.at
            return
        before = s.last_advert.priority if s.last_advert is not None else None
        if before is None:
            s.history.append((h.at, f"first heard, priority {h.result.priority}"))
        elif before != h.result.priority:
            s.history.append((h.at, "resigned (priority 0)" if h.result.priority == 0
                              else f"priority {before} -> {h.result.priority}"))
        # A source repeats its advert: one object for the run, not one per packet (fewer objects
        # for Python's garbage collector to walk while they age in last_adverts)
        advert = s.last_advert if s.last_advert == h.result else h.result
        s.last_advert = advert
        s.last_advert_at = max(s.last_advert_at, h.at)
        s.last_adverts.append((h.at, advert))
        self._elect(key, s, h.at, h.result.priority)
        s.adverts += 1
        s.recent.append((h.at, h.result.priority))
        while s.recent and s.recent[0][0] < h.at - RATE_WINDOW:
            s.recent.popleft()

    def _elect(self, key: RouterKey, s: _Source, at: float, priority: int) -> None:
        """Follow the current master advert by advert (see the module docstring)."""
        current = self._sources[key].get(self._current.get(key, ""))
        if priority == 0:
            if current is s:  # RFC 5798 6.4.1: priority 0, the master is leaving
                del self._current[key]
            return
        if current is None or current is s or current.last_advert is None or current.last_advert.priority == 0:
            self._set_master(key, current, s, at)
            return
        if (priority, _addr_sort(s.src)) > (current.last_advert.priority, _addr_sort(current.src)):
            self._set_master(key, current, s, at)  # preemption (or a higher-priority router back)
            return
        # A lower-priority source advertising: the current master stopped (it missed an advert).
        if at - current.last_advert_at > 1.5 * current.last_advert.max_advert_int:
            self._set_master(key, current, s, at)

    def _set_master(self, key: RouterKey, old: _Source | None, new: _Source, at: float) -> None:
        if old is new:
            return
        self._current[key] = new.src
        new.history.append((at, "master" + (f" (after {old.src})" if old is not None else "")))
        if old is not None:
            old.history.append((at, f"backup ({new.src} is master)"))

    def expire(self, now: float) -> None:
        for key in list(self._sources):
            sources = self._sources[key]
            for src in [s for s, v in sources.items() if now - v.last_seen > FORGET_AFTER]:
                del sources[src]
                if self._current.get(key) == src:
                    del self._current[key]
            if not sources:
                del self._sources[key]

    # --- queries -------------------------------------------------------------------

    def keys(self) -> list[RouterKey]:
        return sorted(self._sources)

    def heard_from(self) -> list[tuple[RouterKey, str, bool, tuple[str, ...]]]:
        """(VRID, source, local, the VIPs of its last advert) for every source: no rates or checks."""
        return [(key, s.src, s.local, tuple(map(str, s.last_advert.addresses)) if s.last_advert else ())
                for key, sources in self._sources.items() for s in sources.values()]

    def mac_owner(self, mac: str) -> str | None:
        """The source address of the router whose adverts came from `mac` (VRRP's own MAC map)."""
        return self.mac_owners().get(mac.lower())

    def mac_owners(self) -> dict[str, str]:
        """MAC (lower case) -> the source address of the first router heard from it."""
        owners: dict[str, str] = {}
        for sources in self._sources.values():
            for s in sources.values():
                if s.src_mac:
                    owners.setdefault(s.src_mac.lower(), s.src)
        return owners

    def priority(self, key: RouterKey, src: str) -> int | None:
        """The priority in `src`'s last advert for `key`."""
        s = self._sources.get(key, {}).get(src)
        return s.last_advert.priority if s is not None and s.last_advert is not None else None

    def current(self, key: RouterKey) -> str | None:
        """The source followed as the VRID's master, advert by advert (module docstring)."""
        return self._current.get(key)

    def last_master_advert(self, key: RouterKey, src: str) -> float | None:
        """When `src` last advertised with priority > 0 (within the kept window)."""
        s = self._sources.get(key, {}).get(src)
        if s is None or s.last_advert is None:
            return None
        if s.last_advert.priority > 0:
            return s.last_advert_at
        return next((t for t, p in reversed(s.recent) if p > 0), None)

    def masters(self, key: RouterKey, now: float) -> list[str]:
        """The current master of the VRID, or every source of a split brain (each thinks it is master)."""
        return self._masters(key, now, self.split_brain(key, now))

    def _masters(self, key: RouterKey, now: float, split: tuple[str, ...]) -> list[str]:
        out = set(split)
        current = self._sources.get(key, {}).get(self._current.get(key, ""))
        if current is not None and current.last_advert is not None and current.last_advert.priority > 0:
            if now - current.last_advert_at <= _down_interval(current.last_advert):
                out.add(current.src)
        return sorted(out, key=_addr_sort)

    def split_brain(self, key: RouterKey, now: float) -> tuple[str, ...]:
        """Sources that advertise as master at the same time as another source.

        Two sources count when, within the last Master_Down_Interval, each sent at
        least two adverts with priority > 0 after the other's first one: a normal
        handover (the old master stops, or answers once before yielding) never does.
        """
        sources = [s for s in self._sources.get(key, {}).values() if s.last_advert is not None]
        flagged: set[str] = set()
        for i, a in enumerate(sources):
            for b in sources[i + 1 :]:
                assert a.last_advert is not None and b.last_advert is not None
                window = max(_down_interval(a.last_advert), _down_interval(b.last_advert))
                ta = [t for t, p in a.recent if p > 0 and t >= now - window]
                tb = [t for t, p in b.recent if p > 0 and t >= now - window]
                if not ta or not tb:
                    continue
                if sum(t > tb[0] for t in ta) >= 2 and sum(t > ta[0] for t in tb) >= 2:
                    flagged.update((a.src, b.src))
        return tuple(sorted(flagged))

    def peers(self, now: float, only: RouterKey | None = None) -> list[Peer]:
        rows = []
        keys = sorted(self._sources) if only is None else [k for k in (only,) if k in self._sources]
        for key in keys:
            sources = self._sources[key]
            split_srcs = self.split_brain(key, now)
            split = set(split_srcs)
            masters = set(self._masters(key, now, split_srcs))
            for src in sorted(sources, key=_addr_sort):
                s = sources[src]
                ref = self._references.get(key) or self._peer_reference(key, s)
                rows.append(self._row(key, s, ref, now, src in split, src in masters))
        return rows

    def detail(self, row_key: str, now: float) -> PeerDetail | None:
        """The Peers pane's row `row_key` in full, or None once the source is forgotten."""
        for peer in self.peers(now):
            if peer.row_key == row_key:
                s = self._sources[peer.key][peer.src]
                return PeerDetail(peer, tuple(s.history), tuple(s.last_adverts), interval_stats(s.recent))
        return None

    def seen(self, key: RouterKey, now: float, answering: dict[str, set[str]]) -> list[RouterSeen]:
        """What the health verdict needs of each source of `key` (no rates: cheap every tick).

        `answering`: router address -> the addresses its MAC answered ARP / NS for lately.
        """
        out = []
        for s in self._sources.get(key, {}).values():
            a = s.last_advert
            ref = self._references.get(key) or self._peer_reference(key, s)
            out.append(RouterSeen(
                s.src, s.local, a.priority if a else None, self.last_master_advert(key, s.src),
                a.max_advert_int if a else None, a.version if a else None,
                tuple(m.value for m in _mismatches(s, ref, now)),
                bool(a and s.src in answering and answering[s.src] & {str(v) for v in a.addresses})))
        return out

    def _peer_reference(self, key: RouterKey, s: _Source) -> Reference | None:
        """Without a config: compare with the highest-priority other router of the VRID."""
        others = [(o.last_advert, o.last_seen) for o in self._sources[key].values()
                  if o is not s and o.last_advert is not None]
        if not others:
            return None
        best, _ = max(others, key=lambda pair: (pair[0].priority, pair[1]))
        return Reference.from_advert(best)

    def _row(self, key: RouterKey, s: _Source, ref: Reference | None, now: float, split: bool, master: bool) -> Peer:
        a = s.last_advert
        return Peer(
            key=key,
            src=s.src,
            src_mac=s.src_mac,
            local=s.local,
            configured=key in self._references,
            version=a.version if a else None,
            priority=a.priority if a else None,
            interval=a.max_advert_int if a else None,
            auth=_auth_text(a),
            vips=tuple(map(str, a.addresses)) if a else (),
            adverts=s.adverts,
            adverts_per_s=_rate(s.recent, now),
            last_seen=s.last_seen,
            drops=dict(s.drops),
            mismatches=_mismatches(s, ref, now),
            split_brain=split,
            master=master,
        )


def _down_interval(a: Advert) -> float:
    return master_down_interval(a.version, max(a.priority, 1), a.max_advert_int)


def interval_stats(recent: deque[tuple[float, int]]) -> IntervalStats | None:
    times = [t for t, _ in recent]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    if not gaps:
        return None
    mean = sum(gaps) / len(gaps)
    jitter = (sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5
    return IntervalStats(len(gaps), mean, min(gaps), max(gaps), jitter)


def _rate(recent: deque[tuple[float, int]], now: float) -> float:
    """Adverts per second over the kept window; decays once a router goes quiet."""
    live = [t for t, _ in recent if t >= now - RATE_WINDOW]
    if len(live) < 2:
        return 0.0
    span = max(now - live[0], live[-1] - live[0])
    return (len(live) - 1) / span if span > 0 else 0.0


def _auth_text(a: Advert | None) -> str:
    if a is None:
        return "?"
    if a.version == 3 or a.auth_type == AUTH_NONE:
        return "none"
    if a.auth_type == AUTH_PASS:
        return f"pass:{a.auth_pass}"
    return "ah" if a.auth_type == 2 else f"type {a.auth_type}"


def _mismatches(s: _Source, ref: Reference | None, now: float) -> tuple[Mismatch, ...]:
    out: list[Mismatch] = []
    a = s.last_advert
    if a is not None and ref is not None:
        if a.version != ref.version:
            out.append(Mismatch.VERSION)
        if round(a.max_advert_int * 100) != round(ref.interval * 100):
            out.append(Mismatch.INTERVAL)
        if frozenset(map(str, a.addresses)) != ref.vips:
            out.append(Mismatch.VIPS)
        if a.version == 2 and ref.version == 2:
            theirs = (a.auth_type, a.auth_pass if a.auth_type == AUTH_PASS else "")
            if theirs != ref.auth:
                out.append(Mismatch.AUTH)
        if ref.checksum_form is not None and a.version == 3 and a.family == 4 and a.checksum_form != ref.checksum_form:
            out.append(Mismatch.CHECKSUM_FORM)
    if s.last_bad_checksum is not None and now - s.last_bad_checksum <= RATE_WINDOW:
        out.append(Mismatch.CHECKSUM)
    # RFC 5798 7.1: multicast adverts must arrive with TTL / hop limit 255.
    if not s.unicast and s.ttl != 255 and not s.local:
        out.append(Mismatch.TTL)
    return tuple(out)


_addr_sort = address_order
