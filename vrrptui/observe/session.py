"""Everything the console shows, as one sans-I/O object fed with observations and `now`.

The console (and `vrrptui sniff`) hand it the runtime's observation batches, sniffed
packets and prober events; the panes read it. Log lines are formatted lazily (only
what is shown), so a segment carrying thousands of adverts per second costs little
while the log is paused or hidden.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace

from vrrptui.config.model import Config
from vrrptui.records import RuntimeNote, StatusSnapshot
from vrrptui.engine.outputs import Dropped, LogLine, State, StateChanged
from vrrptui.engine.status import InstanceStatus
from vrrptui.observe.addresses import address_text, normal_address
from vrrptui.observe.drills import DrillStore, DrillTracker, client_outage_ms, theory_ms
from vrrptui.observe.health import Alarms, AlarmChange, Verdict, assess
from vrrptui.observe.history import History
from vrrptui.observe.packets import PacketRing
from vrrptui.records import Drill, Heard, RouterKey
from vrrptui.observe.peers import PeerTable
from vrrptui.records import Claim, LocalPresence, ProbeEvent, ProbeSent
from vrrptui.observe.timeline import Timeline
from vrrptui.observe.vips import VipPresence, VipView
from vrrptui.protocol.packet import VRRP_PROTO, Advert, ChecksumForm, internet_checksum
from vrrptui.protocol.tcpdump import format_compact, format_packet, timestamp_text

# Every per-packet store is a ring; at 2,550 adverts/s (255 VRIDs at VRRPv3 0.1 s) they fill, then stay flat.
MAX_LOG = 20_000  # advert-log entries (~8 s at 2,550/s, ~0.3 KB each: adverts as plain tuples)
MAX_PACKETS = 100_000  # frames kept for `w` (~40 s at 2,550/s, ~70 B each in a PacketRing: ~7 MB)
ADVERT_TEXTS = 4096  # distinct adverts whose log text is remembered (255 VRIDs from a few routers repeat theirs)
DRILL_HISTORY = 100
CLIENT_WAIT = 3.0  # seconds a finished drill waits for the lab client's pings to come back


LogRecord = Heard | StateChanged | Dropped | RuntimeNote | AlarmChange  # what the advert log holds, as received
# A heard advert as the log keeps it: a plain tuple of numbers, strings and bytes (pack_heard), which
# Python's garbage collector stops tracking, so that full collections do not walk the whole ring.
# (ifname, at, src, dst, ttl, payload, src_mac, outgoing, version, vrid, priority, max_advert_int,
#  addresses separated by spaces, auth_type, auth_data, checksum, checksum_form value, type)
PackedHeard = tuple[str, float, str, str, int, bytes, str | None, bool, int, int, int, float, str, int, bytes, int, str,
                    int]


def pack_heard(h: Heard) -> Heard | PackedHeard:
    """`h` as a plain tuple when its result is an Advert (unpack_heard gives an equal Heard back)."""
    a = h.result
    if not isinstance(a, Advert):
        return h  # a drop: rare, kept as received
    return (h.ifname, h.at, address_text(h.src), address_text(h.dst), h.ttl, h.payload, h.src_mac, h.outgoing,
            a.version, a.vrid, a.priority, a.max_advert_int, " ".join(map(address_text, a.addresses)), a.auth_type,
            a.auth_data, a.checksum, a.checksum_form.value, a.type)


def unpack_heard(t: PackedHeard) -> Heard:
    (ifname, at, src, dst, ttl, payload, src_mac, outgoing,
     version, vrid, priority, interval, addresses, auth_type, auth_data, checksum, form, kind) = t
    ip = ipaddress.ip_address
    advert = Advert(version, vrid, priority, interval, tuple(ip(x) for x in addresses.split()), auth_type, auth_data,
                    checksum, ChecksumForm(form), kind)
    return Heard(ifname, at, ip(src), ip(dst), ttl, advert, payload, src_mac, outgoing)


def log_text(r: LogRecord | PackedHeard, wall: float) -> list[str]:
    """An advert-log record as text (formatted when, and only if, it is shown); `wall`: its epoch time."""
    if isinstance(r, tuple):
        return [advert_line(r, wall)]
    if isinstance(r, Heard):
        if isinstance(r.result, Advert):
            return [timestamp_text(wall) + " " + _advert_text(r)]
        lines = format_packet(r.payload, r.src, r.dst, ts=wall, ttl=r.ttl, verbose=False)
        detail = f" ({r.result.detail})" if r.result.detail else ""
        return lines + [f"    ^ not used: {r.result.reason.value}{detail}"]
    if isinstance(r, StateChanged):
        detail = f" ({r.detail})" if r.detail else ""
        return [f"--- ({r.instance}) {r.old.value} -> {r.new.value}: {r.reason.value}{detail}"]
    if isinstance(r, Dropped):
        who = f"({r.instance}) " if r.instance else ""
        detail = f" ({r.detail})" if r.detail else ""
        return [f"!!! {who}dropped advert from {r.src}: {r.reason.value}{detail}"]
    if isinstance(r, AlarmChange):
        return [("!!! " if r.raised else "··· ") + r.text()]
    who = f"({r.instance}) " if r.instance else ""
    return [f"··· {who}{r.text}"]


def _advert_text(h: Heard) -> str:
    """A heard advert's log line after the timestamp."""
    assert isinstance(h.result, Advert)
    line = format_compact(h.result, h.src, h.dst, ttl=h.ttl)
    if h.ttl != 255 and not h.outgoing:
        line += f", (ttl {h.ttl})"
    return line + (" [sent]" if h.outgoing else "")


_ADVERT_TEXTS: dict[tuple[object, ...], str] = {}  # packed advert less its time -> text: a VRID's adverts repeat


def advert_line(r: PackedHeard, wall: float) -> str:
    """A packed advert's log line: only the timestamp is formatted anew for each advert."""
    key = r[:1] + r[2:]
    text = _ADVERT_TEXTS.get(key)
    if text is None:
        if len(_ADVERT_TEXTS) >= ADVERT_TEXTS:
            _ADVERT_TEXTS.clear()
        text = _ADVERT_TEXTS[key] = _advert_text(unpack_heard(r))
    return timestamp_text(wall) + " " + text


def parse_filter(text: str) -> tuple[int | None, str | None]:
    """`/` filter: a VRID (number), a source address, both ("150 192.168.1.11"), or empty."""
    vrid: int | None = None
    src: str | None = None
    for word in text.split():
        if word.isdigit() and 0 < int(word) < 256:
            vrid = int(word)
        else:
            try:
                src = str(ipaddress.ip_address(word))
            except ValueError:
                raise ValueError(f"{word!r} is neither a VRID (1-255) nor an IP address") from None
    return vrid, src


def raw_ip_packet(h: Heard) -> bytes:
    """The IP packet around a VRRP message (pcap LINKTYPE_RAW), as the sender built it."""
    payload = h.payload
    if h.src.version == 4:
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, h.ttl, VRRP_PROTO, 0,
                             h.src.packed, h.dst.packed)
        header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
        return header + payload
    header = struct.pack("!IHBB16s16s", (6 << 28) | (0xC0 << 20), len(payload), VRRP_PROTO, h.ttl,
                         h.src.packed, h.dst.packed)
    return header + payload


class Session:
    def __init__(self, config: Config | None = None, *, drill_store: DrillStore | None = None,
                 max_log: int = MAX_LOG, max_packets: int = MAX_PACKETS, wall_offset: float = 0.0) -> None:
        self.config = config
        self.peers = PeerTable(config)
        self.timeline = Timeline(config)
        self.vips = VipPresence()
        self.drill_tracker = DrillTracker()
        self.drill_store = drill_store
        self.drills: list[Drill] = drill_store.read()[-DRILL_HISTORY:] if drill_store is not None else []
        self.drill_errors: list[str] = []
        self.statuses: dict[str, InstanceStatus] = {}
        self.status_at: float | None = None
        # an engine sends a StatusSnapshot every 0.1 s: none for this long and it is stopped or hung (None: the
        # source sends none, as a sniffer or a replay)
        self.engine_silence_after: float | None = None
        # wall clock minus engine clock: from the latest StatusSnapshot, or given (sniff has no engine)
        self.wall_offset = wall_offset
        self.log: deque[LogRecord | PackedHeard] = deque(maxlen=max_log)
        self.log_seq = 0  # records ever logged: the newest in `log` has this seq, the one before seq - 1...
        self.packets = PacketRing(max_packets)
        self.peer_macs: dict[str, str] = {}  # MAC -> router address, learned by the prober
        self.history = History(self.wall)
        self._awaiting_client: list[Drill] = []  # finished, waiting for the lab client's pings
        self.alarms = Alarms()
        self.own_macs: set[str] = set()
        if config is not None:
            self.vips.set_vips([(str(v.address), v.dev or inst.interface)
                                for inst in config.instances for v in inst.virtual_ipaddresses])
            for inst in config.instances:
                if inst.use_vmac:  # the VIPs on the VMAC interface answer from the VMAC (RFC 5798 7.3)
                    for v in inst.virtual_ipaddresses:
                        if v.dev in (None, inst.vmac_interface):
                            self.vips.set_vmac(str(v.address), inst.vmac_address)

    def engine_silent_for(self, now: float) -> float | None:
        """Seconds since the engine's last status, when that is past `engine_silence_after`; else None."""
        if self.engine_silence_after is None or self.status_at is None:
            return None
        age = now - self.status_at
        return age if age > self.engine_silence_after else None

    # --- input ---------------------------------------------------------------------

    def wall(self, at: float) -> float:
        return at + self.wall_offset

    def feed(self, items: Iterable[object], now: float) -> None:
        for item in items:
            if isinstance(item, Heard):
                self.heard(item)
            elif isinstance(item, StatusSnapshot):
                self.wall_offset = item.wall - item.at
                self.status_at = item.at
                self.statuses = {s.name: s for s in item.instances}
                for st in item.instances:
                    self.history.status(st, item.at, self.scope(st.name))
            elif isinstance(item, StateChanged):
                self._log(item)
                self.history.state_changed(item, self.scope(item.instance))
                if item.new is State.MASTER:
                    self.drill_tracker.became_master(item.instance, item.at)
            elif isinstance(item, Dropped | RuntimeNote):
                self._log(item)
            elif isinstance(item, LogLine):  # the runtime's log: warnings and errors go in the advert log
                if item.level != "info":
                    self._log(RuntimeNote(now, None, item.text))
            elif isinstance(item, (ProbeSent, Claim, LocalPresence)):
                self.probe_event(item)

    def heard(self, h: Heard) -> None:
        self.peers.heard(h)
        if h.key is not None:
            self.history.heard(h, self.peers.current(h.key))
        self.timeline.heard(h)
        self.drill_tracker.heard(h)
        self._log(pack_heard(h))
        if h.payload:
            self.packets.append(self.wall(h.at), raw_ip_packet(h))

    def probe_event(self, ev: ProbeEvent) -> None:
        if isinstance(ev, ProbeSent):
            self.vips.probe_sent(ev.vip, ev.at)
        elif isinstance(ev, LocalPresence):
            if self.vips.local(ev.vip, ev.present, ev.at) and ev.present:
                self.drill_tracker.local_vip(ev.vip, ev.at)
        elif isinstance(ev, Claim):
            if ev.vip in dict(self.vips.vips()):
                self.vips.claim(ev.vip, ev.mac, ev.at, ev.kind)
                self.drill_tracker.claim(ev.vip, ev.mac, ev.at)
            else:
                self.peer_macs[ev.mac] = ev.vip  # a router's own address: its MAC

    def _log(self, record: LogRecord | PackedHeard) -> None:
        self.log_seq += 1
        self.log.append(record)

    # --- derived -------------------------------------------------------------------

    def scope(self, instance: str) -> str:
        """How the history names one of our instances: "VI_1 (eth0 vrid 51 IPv4)"."""
        st = self.statuses.get(instance)
        if st is None or st.interface is None:
            return instance
        return f"{instance} ({RouterKey(st.interface, st.vrid, st.family)})"

    def verdicts(self, now: float) -> list[Verdict]:
        """One health verdict per virtual router: ours, and every other one heard."""
        ours = {RouterKey(s.interface, s.vrid, s.family): s for s in self.statuses.values() if s.interface}
        answering: dict[str, set[str]] = {}  # router address -> VIPs its MAC answered for lately
        for v in self.vip_view(now):
            for a in v.answers:
                if a.owner:
                    answering.setdefault(a.owner, set()).add(v.vip)
        return [assess(key, now, instance=ours.get(key), routers=self.peers.seen(key, now, answering),
                       split_brain=self.peers.split_brain(key, now))
                for key in sorted(set(self.peers.keys()) | set(ours))]

    def operator(self, action: str, instance: str, now: float, detail: str = "") -> None:
        """The operator acted on an instance (recorded in the event history)."""
        self.history.operator(now, action, self.scope(instance), detail)

    def _mac_owner(self, mac: str, adverts_from: dict[str, str]) -> str | None:
        mac = mac.lower()
        if mac in self.own_macs:
            return "this host"
        return adverts_from.get(mac) or self.peer_macs.get(mac)

    def vip_view(self, now: float) -> list[VipView]:
        """VIP presence with each answering MAC's owner (the MAC map built once, not once per VIP)."""
        adverts_from = self.peers.mac_owners()
        return self.vips.view(now, lambda mac: self._mac_owner(mac, adverts_from))

    def own_addresses(self) -> tuple[str, ...]:
        return tuple(sorted({s.primary_address for s in self.statuses.values() if s.primary_address}))

    def probe_targets(self) -> list[tuple[str, str | None]]:
        """VIPs (configured, or in sniff mode every address heard in adverts) and routers to resolve."""
        targets = dict(self.vips.vips())
        heard = self.peers.heard_from()  # once a second: the sources only, not the Peers pane's rows
        if self.config is None:
            for key, _src, _local, vips in heard:
                for vip in vips:
                    if vip not in targets:
                        self.vips.add_vip(vip, key.ifname)
                        targets[vip] = key.ifname
        routers = {}
        for key, src, local, _vips in sorted(heard):
            if not local and src not in targets:
                routers[src] = key.ifname
        return list(targets.items()) + list(routers.items())

    def vips_local(self, status: InstanceStatus) -> tuple[int, int, bool | None]:
        """(present here, total, known) for an instance's VIPs."""
        vips = [v.split("/")[0] for v in status.vips]
        states = [self.vips.is_local(normal_address(v)) for v in vips]  # per VIP, not a full view per instance
        if any(s is None for s in states):
            return sum(bool(s) for s in states), len(vips), None
        return sum(bool(s) for s in states), len(vips), True

    # --- drills --------------------------------------------------------------------

    def start_drill(self, action: str, instance: str, now: float) -> Drill | None:
        st = self.statuses.get(instance)
        if st is None or st.interface is None:
            return None
        key = RouterKey(st.interface, st.vrid, st.family)
        # The timeline's slot, so the drill's missed count matches its x marks.
        interval = self.timeline.slot(key) or st.learned_advert_int or st.advert_int
        old_master = st.primary_address if st.state == "MASTER" else st.master_address
        drill = self.drill_tracker.start(
            action, instance, key, acted_at=now, interval=interval, master_down_interval=st.master_down_interval,
            old_master=old_master, vips=tuple(str(ipaddress.ip_address(v.split("/")[0])) for v in st.vips),
            own_addresses=self.own_addresses(), own_macs=tuple(self.own_macs), vmac=st.vmac,
            wall=self.wall(now),
            old_last_advert=self.peers.last_master_advert(key, old_master) if old_master else None,
        )
        self.timeline.mark(key, now, "D" if action == "demote" else "F")
        return drill

    def tick(self, now: float, client_lines: Callable[[], list[str]] | None = None) -> list[Drill]:
        """Finish drills that are done: recorded in memory, in the history and in the drill store.

        `client_lines`: the lab client's `ping -D` output, when there is one: a drill then waits
        (up to CLIENT_WAIT) for the client's pings to come back, to say how long it was cut off.
        """
        done = self._awaiting_client + self.drill_tracker.tick(now)
        self._awaiting_client = []
        for change in self.alarms.update(self.verdicts(now), now):
            self.history.alarm(change)
            self._log(change)
        finished = []
        for d in done:
            ended = max(t for t in (d.acted_at, d.new_master_first_advert_at, d.vip_answered_at) if t is not None)
            lines = client_lines() if client_lines is not None else []
            outage = client_outage_ms(lines, self.wall(d.acted_at), self.wall(ended)) if lines else None
            if lines and outage is None and now - ended < CLIENT_WAIT:
                self._awaiting_client.append(d)
                continue
            d = replace(d, theory_ms=self._theory_ms(d), client_outage_ms=outage)
            finished.append(d)
            self.drills.append(d)
            self.history.drill(d, now, self.scope(d.instance))
            if self.drill_store is not None:
                try:
                    self.drill_store.append(d)
                except OSError as e:
                    self.drill_errors.append(f"cannot append to {self.drill_store.path}: {e.strerror}")
        del self.drills[:-DRILL_HISTORY]
        self.peers.expire(now)
        return finished

    def _theory_ms(self, d: Drill) -> float | None:
        st = self.statuses.get(d.instance)
        if st is None or d.new_master is None:
            return None
        ours = d.new_master in (st.primary_address, "this host")
        priority = st.effective_priority if ours else self.peers.priority(d.key, d.new_master)
        return theory_ms(d, st.version, st.learned_advert_int or st.advert_int, priority, ours)

    # --- pcap ----------------------------------------------------------------------

    def pcap_frames(self) -> list[tuple[float, bytes]]:
        """The captured packets (IP, no link layer: LINKTYPE_RAW) with their wall-clock times."""
        return self.packets.frames()

    def entries(self, vrid: int | None = None, src: str | None = None,
                after: int = 0) -> list[tuple[int, LogRecord]]:
        """(seq, record) newer than seq `after` (filtered), oldest first."""
        return [(seq, unpack_heard(r) if isinstance(r, tuple) else r) for seq, r in self._newer(vrid, src, after)]

    def _newer(self, vrid: int | None, src: str | None, after: int) -> list[tuple[int, LogRecord | PackedHeard]]:
        """(seq, record as kept) newer than seq `after` (filtered), oldest first; reads only those, newest first."""
        out = []
        seq = self.log_seq
        for record in reversed(self.log):
            if seq <= after:
                break
            if (vrid is None or self._vrid(record) == vrid) and (src is None or self._src(record) == src):
                out.append((seq, record))
            seq -= 1
        out.reverse()
        return out

    def text(self, record: LogRecord | PackedHeard) -> list[str]:
        return log_text(record, self.wall(record[1] if isinstance(record, tuple) else record.at))

    def log_lines(self, vrid: int | None = None, src: str | None = None, after: int = 0) -> list[str]:
        """The text of the entries newer than seq `after` (filtered), oldest first."""
        lines: list[str] = []
        for _, record in self._newer(vrid, src, after):
            lines.extend(self.text(record))
        return lines

    def _vrid(self, r: LogRecord | PackedHeard) -> int | None:
        if isinstance(r, tuple):
            return r[9]
        if isinstance(r, Heard):
            return r.vrid
        if isinstance(r, AlarmChange):
            return r.verdict.key.vrid
        if isinstance(r, StateChanged | Dropped) and r.instance:
            status = self.statuses.get(r.instance)
            return status.vrid if status else None
        return None

    @staticmethod
    def _src(r: LogRecord | PackedHeard) -> str | None:
        if isinstance(r, tuple):
            return r[2]
        if isinstance(r, Heard):
            return address_text(r.src)
        if isinstance(r, Dropped) and r.src is not None:
            return address_text(r.src)
        return None
