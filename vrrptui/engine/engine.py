"""All VRRP instances of one config, sans-I/O (aioquic's shape, see STYLE.md).

The runtime (asyncio, real sockets), the console and the tests drive this the same
way: feed it packets, timer expiries and operator commands with `now` (seconds,
monotonic), carry out the actions it returns, log/show the events, and wake it at
`get_timer()`.

CONTRACT (the runtime and console are written against it):

    engine = Engine(config, primary_addresses={"VI_1": IPv4Address("192.168.1.11")}, now=t)
    outs = engine.start(now)
    outs = engine.receive_packet(ifname, src, dst, ttl, payload, now)  # bytes after the IP header
    outs = engine.handle_timer(now)            # call when now >= get_timer()
    t    = engine.get_timer()                  # next deadline or None
    e    = engine.timer_epoch                  # changes whenever get_timer() may have become earlier
    outs = engine.command(cmd, now)            # operator (vrrptui.engine.commands): SetPriority 1..254
                                               # held until Resume; Demote: priority-0 advert, VIPs
                                               # removed, hold BACKUP; Failover: master goes silent
                                               # (no prio 0), backup takes over now; Resume: configured
                                               # priority. Raises CommandError, checked here only.
    outs = engine.interface_state(ifname, up, now)   # netlink link up/down
    outs = engine.set_primary_address(name, address, now)  # the interface's primary address changed
    outs = engine.script_state(script_name, ok, now, exit_status=1, timed_out=False)
                                               # vrrp_script result after rise/fall
    outs = engine.disable_script(script_name, now)   # refused (insecure): tracker dropped, as keepalived
    outs = engine.shutdown(now)                # masters: prio-0 advert + RemoveVips; RunNotify STOP
    outs = engine.reload(new_config, primary_addresses, now, disabled_scripts=None)
                                               # unchanged instances keep state
    engine.status(now) -> tuple[InstanceStatus, ...]
    engine.advert_bytes(name, priority, src, dst) -> bytes     # cached encoded advert
    engine.ah_datagrams(name, priority, src, dsts) -> list[bytes] | None  # auth_type AH: whole IPv4 datagrams
    engine.ah_resign_datagrams(name, src, dsts)   # AH: the guardian's priority-0 round, numbered ahead
    engine.ah_reserve_used(name) -> bool          # AH: the adverts caught up with it; journal it again
    outs = engine.receive_ah_packet(ifname, datagram, now)     # IP protocol 51, IPv4 header included

Outputs are the types in vrrptui.engine.outputs, in the order they must be carried out. With
`Engine(..., urgent=act)`, a master stepping down for a higher priority hands its RemoveVips to `act`
at once, before the rest of its transition is worked out (the winner holds the VIPs already), and
leaves it out of the batch; so does a master that lost its address with its priority-0 SendAdvert
(the backup's Skew_Time starts when it arrives), and a backup taking over on its timer with its
SendAdvert, AddVips and StartGratuitous (the segment sees them before its logs and notify are worked out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from ipaddress import IPv4Address

from vrrptui.config.model import Config, VrrpInstance, VrrpScript
from vrrptui.engine.ah_state import AhState, uses_ah
from vrrptui.engine.commands import Command, CommandError, Demote, Failover, Resume, SetPriority
from vrrptui.engine.deadlines import Deadlines
from vrrptui.engine.machine import LOG_RATE_LIMIT, VrrpMachine
from vrrptui.engine.ratelimit import LogLimiter
from vrrptui.engine.outputs import Action, Dropped, LogLine, Output, Reason, RunGroupNotify, State, StateChanged
from vrrptui.engine.status import InstanceStatus
from vrrptui.engine.tracking import PRIORITY_MAX_BACKUP, PRIORITY_MIN, script_outcome
from vrrptui.protocol import ah
from vrrptui.protocol.packet import Advert, AdvertCache, Drop, DropReason, IPAddress, decode


class _DecodeCache:
    """decode(), remembered: a master sends the same bytes every interval and decoding is pure, so
    identical packets are decoded once (Advert and Drop are immutable; the same object comes back).

    Keyed by the bytes; the addresses they came with are compared rather than hashed (ipaddress
    hashes in Python, which cost more than the rest of the lookup). Bounded: emptied when full.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._by_payload: dict[bytes, tuple[IPAddress, IPAddress, int, Advert | Drop]] = {}

    def decode(self, payload: bytes, src: IPAddress, dst: IPAddress, family: int) -> Advert | Drop:
        hit = self._by_payload.get(payload)
        if hit is not None and (hit[0] is src or hit[0] == src) and (hit[1] is dst or hit[1] == dst) \
                and hit[2] == family:
            return hit[3]
        result = decode(payload, src, dst, family)
        if len(self._by_payload) >= self._size:
            self._by_payload.clear()
        self._by_payload[payload] = (src, dst, family, result)
        return result


_decode = _DecodeCache(4096).decode  # a bound method: calling an instance's __call__ costs more

DemuxKey = tuple[str | None, int, int]  # (interface, IP family, VRID)


class Engine:
    """The machines of one Config, packet demultiplexing, sync groups, operator commands."""

    def __init__(
        self,
        config: Config,
        primary_addresses: Mapping[str, IPAddress] | None = None,
        now: float = 0.0,
        urgent: Callable[[Action], None] | None = None,
    ) -> None:
        self.config = config
        self._urgent = urgent
        self.created_at = now
        self.clock = now  # the latest time handed in (_at): the engine's clock never goes back
        self.drops: dict[str, int] = {r.value: 0 for r in DropReason}  # packets no instance claimed
        self._log_limit = LogLimiter(LOG_RATE_LIMIT)
        self._machines: dict[str, VrrpMachine] = {}
        self._by_key: dict[DemuxKey, VrrpMachine] = {}
        self._last_dst: IPAddress | None = None  # the last received packet's destination, and whether unicast
        self._last_dst_unicast = False
        self._peers: dict[str, tuple[str, ...]] = {}  # instance -> the other members of its sync group
        self._adverts: dict[str, AdvertCache] = {}
        self.advert_epoch = 0  # counts the rebuilds of _adverts (start, reload)
        self._ah: dict[str, tuple[VrrpMachine, AhState]] = {}  # AH instances: counters live as long as the machine
        self._iface_up: dict[str, bool] = {}
        self._script_ok: dict[str, bool] = {}
        self._tracked: dict[tuple[str, str], int] = {}  # track_file values / process quorums, for later machines
        self._disabled_scripts: set[str] = set()  # refused vrrp_scripts: no tracker anywhere
        self._group_state: dict[str, str] = {}  # sync group -> the state its notify scripts were last told
        self._started = False
        self._shut_down = False
        self._grouped = False  # any sync group to coordinate (set by _index)
        self._deadlines = Deadlines()  # the earliest of the machines' deadlines (get_timer)
        for inst in config.instances:
            self._machines[inst.name] = self._new_machine(inst, config, primary_addresses or {})
        self._index()

    # --- construction --------------------------------------------------------------

    def _new_machine(self, inst: VrrpInstance, config: Config, primary: Mapping[str, IPAddress]) -> VrrpMachine:
        machine = VrrpMachine(
            inst,
            _primary_address(inst, primary),
            scripts={s.name: s for s in config.scripts},
            check_unicast_src=config.global_defs.vrrp_check_unicast_src,
            urgent=self._urgent,
        )
        if machine.primary_address.is_unspecified:  # no address to send adverts from: FAULT, as keepalived
            machine.tracking.set_address(False)
        for ifname, up in self._iface_up.items():
            machine.tracking.set_interface(ifname, up)
        for name, ok in self._script_ok.items():
            machine.tracking.set_script(name, ok)
        for (kind, name), value in self._tracked.items():
            machine.tracking.set_tracked(kind, name, value)
        for name in self._disabled_scripts:
            machine.disable_script(name, self.created_at)
        return machine

    def _index(self) -> None:
        self._deadlines.machines = self._machines
        self._by_key = {}
        for m in self._machines.values():
            inst = m.instance
            self._by_key.setdefault((inst.interface, inst.family, inst.vrid), m)
            if inst.use_vmac:  # adverts may be read on the macvlan as well as its base
                self._by_key.setdefault((inst.vmac_interface, inst.family, inst.vrid), m)
        self._peers = {}
        # without sync groups (and none left to report STOP for) _coordinate returns what it is given
        self._grouped = bool(self.config.sync_groups or self._group_state)
        for group in self.config.sync_groups:
            members = tuple(n for n in group.members if n in self._machines)
            for name in members:
                self._peers[name] = tuple(n for n in members if n != name)
        self._adverts = {name: AdvertCache(m.advert()) for name, m in self._machines.items()}
        self.advert_epoch += 1  # adverts built before (AdvertSender.prepare) may no longer be right
        self._ah = {name: kept if (kept := self._ah.get(name)) is not None and kept[0] is m
                    else (m, AhState(m.instance)) for name, m in self._machines.items() if uses_ah(m.instance)}

    def machine(self, name: str) -> VrrpMachine:
        try:
            return self._machines[name]
        except KeyError:
            known = ", ".join(self._machines) or "none"
            raise ValueError(f"no vrrp_instance {name!r} in {self.config.path} (instances: {known})") from None

    @property
    def machines(self) -> tuple[VrrpMachine, ...]:
        return tuple(self._machines.values())

    # --- driving -------------------------------------------------------------------

    def _at(self, now: float) -> float:
        """NOW, or the latest time handed in if NOW is earlier: a packet's time is when it arrived, which may
        precede an event the runtime handled first, and the machines' clock must not go back."""
        if now < self.clock:
            return self.clock
        self.clock = now
        return now

    def start(self, now: float) -> list[Output]:
        self.clock = now  # the machines' time begins here (it may precede calls made before: daemon/earlylisten.py)
        self._started = True
        return self._each(lambda m: m.start(now), now)

    def get_timer(self) -> float | None:
        return self._deadlines.earliest()

    @property
    def timer_epoch(self) -> int:
        """Changes whenever get_timer() may have become earlier: a timer armed before stays valid until then."""
        return self._deadlines.epoch

    def handle_timer(self, now: float) -> list[Output]:
        now = self._at(now)
        out: list[Output] = []
        for machine in self._deadlines.due(now):
            out += machine.handle_timer(now)
            self._deadlines.touch(machine)
        return self._coordinate(out, now)

    @staticmethod
    def decode(payload: bytes, src: IPAddress, dst: IPAddress) -> Advert | Drop:
        """decode() of a received payload, remembered: a master sends the same bytes every interval."""
        return _decode(payload, src, dst, src.version)

    def receive_packet(
        self, ifname: str, src: IPAddress, dst: IPAddress, ttl: int, payload: bytes, now: float,
        result: Advert | Drop | None = None,
    ) -> list[Output]:
        """A protocol-112 payload read on `ifname` (bytes after the IP header).

        `result`: Engine.decode() of it when the caller already has it (the runtime shows it too).
        """
        now = self._at(now)
        family = 4 if src.__class__ is IPv4Address else 6  # the `version` property costs more, per packet
        if result is None:
            result = _decode(payload, src, dst, family)
        if isinstance(result, Drop):
            vrid = payload[1] if len(payload) >= 2 else -1
            machine = self._by_key.get((ifname, family, vrid))
            text = _codec_drop_text(result, src, payload)
            if machine is not None:
                out = self._coordinate(machine.note_drop(result.reason, src, now, text), now)
                self._deadlines.touch(machine)
                return out
            return self._unclaimed(result.reason, src, now, text)
        machine = self._by_key.get((ifname, family, result.vrid))
        if machine is None:
            return self._unclaimed(DropReason.VRID, src, now, f"VRID {result.vrid} on {ifname}: no vrrp_instance here")
        if machine.name in self._ah:
            out = machine.note_drop(DropReason.AUTH, src, now, f"No AH header but auth type is AH (from {src})")
        else:
            if dst is not self._last_dst:  # one destination (the group) almost always: test it once
                self._last_dst, self._last_dst_unicast = dst, not _is_multicast(dst)
            out = machine.receive(result, src, ttl, self._last_dst_unicast, now)
        if self._grouped:
            out = self._coordinate(out, now)
        self._deadlines.touch(machine)
        return out

    def receive_ah_packet(self, ifname: str, datagram: bytes, now: float) -> list[Output]:
        """An IP protocol 51 datagram read on `ifname`, IPv4 header included (the AH ICV covers it)."""
        now = self._at(now)
        packet = ah.parse(datagram)
        if packet is None:  # AH around another protocol: not VRRP
            return []
        if isinstance(packet, Drop):
            return self._unclaimed(packet.reason, None, now, packet.detail)
        result = _decode(packet.message, packet.src, packet.dst, 4)
        vrid = result.vrid if not isinstance(result, Drop) else (packet.message[1] if len(packet.message) > 1 else -1)
        machine = self._by_key.get((ifname, 4, vrid))
        if machine is None:
            return self._unclaimed(DropReason.VRID, packet.src, now, f"VRID {vrid} on {ifname}: no vrrp_instance here")
        state = self._ah.get(machine.name)
        if isinstance(result, Drop):
            text = _codec_drop_text(result, packet.src, packet.message)
            out = machine.note_drop(result.reason, packet.src, now, text)
        elif state is None:
            out = machine.note_drop(DropReason.AUTH, packet.src, now,
                                    f"Received AH header but auth type not AH (from {packet.src})")
        elif (failure := state[1].check(packet)) is not None:
            out = machine.note_drop(DropReason.AUTH, packet.src, now, failure)
        else:
            out = machine.receive(result, packet.src, packet.ttl, not _is_multicast(packet.dst), now)
        out = self._coordinate(out, now)
        self._deadlines.touch(machine)
        return out

    def _unclaimed(self, reason: DropReason, src: IPAddress | None, now: float, text: str) -> list[Output]:
        """A packet no instance claims: counted (status, stats dump), logged at a bounded rate (--log-detail)."""
        self.drops[reason.value] += 1
        out: list[Output] = [Dropped(None, reason, src, now, text)]
        line = self._log_limit.text(reason, now, f"dropped packet: {text}")
        if line is not None:
            out.append(LogLine(line, detail=True))
        return out

    def interface_state(self, ifname: str, up: bool, now: float) -> list[Output]:
        now = self._at(now)
        self._iface_up[ifname] = up
        log: list[Output] = [LogLine(f"Netlink reports {ifname} {'up' if up else 'down'}")]
        return log + self._each(lambda m: m.interface_state(ifname, up, now), now)

    def set_primary_address(self, name: str, address: IPAddress, now: float) -> list[Output]:
        """Adverts of `name` now come from `address` (an address was added to / removed from its interface)."""
        now = self._at(now)
        self._deadlines.rescan()
        return self.machine(name).set_primary_address(address, now)

    def address_state(self, name: str, present: bool, now: float) -> list[Output]:
        """`name`'s interface lost (False) or got back (True) every address its adverts could come from."""
        now = self._at(now)
        self._deadlines.rescan()
        return self._coordinate(self.machine(name).address_state(present, now), now)

    def script_state(
        self, script_name: str, ok: bool, now: float, *, exit_status: int | None = None, timed_out: bool = False
    ) -> list[Output]:
        """A vrrp_script's state after rise/fall; `exit_status`/`timed_out` of the run that flipped it."""
        now = self._at(now)
        if script_name in self._disabled_scripts:
            return []
        changed = self._script_ok.get(script_name) != ok
        self._script_ok[script_name] = ok
        outcome = script_outcome(ok, exit_status, timed_out)
        log: list[Output] = [LogLine(f"VRRP_Script({script_name}) {outcome}")] if changed else []
        return log + self._each(lambda m: m.script_state(script_name, ok, now), now)

    def file_value(self, name: str, value: int, now: float) -> list[Output]:
        """A track_file's value (read at start-up and whenever the file changes)."""
        now = self._at(now)
        self._tracked[("file", name)] = value
        return self._each(lambda m: m.tracked_state("file", name, value, now), now)

    def process_state(self, name: str, ok: bool, now: float) -> list[Output]:
        """Whether a vrrp_track_process has its quorum (after its fork/terminate delays)."""
        now = self._at(now)
        self._tracked[("process", name)] = int(ok)
        return self._each(lambda m: m.tracked_state("process", name, int(ok), now), now)

    def disable_script(self, script_name: str, now: float) -> list[Output]:
        """A vrrp_script that will never run (refused by enable_script_security).

        keepalived drops such a script from every instance that tracks it: no weight, no
        FAULT. Call before start() so no instance ever counts it.
        """
        now = self._at(now)
        self._disabled_scripts.add(script_name)
        self._script_ok.pop(script_name, None)
        return self._each(lambda m: m.disable_script(script_name, now), now)

    # --- operator ------------------------------------------------------------------

    def command(self, cmd: Command, now: float) -> list[Output]:
        """Carry out an operator command; CommandError (a ValueError) says why one is refused."""
        now = self._at(now)
        if self._shut_down:
            raise CommandError(f"{cmd.instance}: vrrptui is stopping (its instances resigned): nothing to do")
        machine = self._machines.get(cmd.instance)
        if machine is None:
            known = ", ".join(self._machines) or "none"
            raise CommandError(f"no vrrp_instance {cmd.instance!r} here (instances: {known})")
        match cmd:
            case SetPriority(priority=priority):
                if isinstance(priority, bool) or not isinstance(priority, int):
                    raise CommandError(f"priority {priority!r} is not a whole number: use 1-254")
                if not PRIORITY_MIN <= priority <= PRIORITY_MAX_BACKUP:
                    raise CommandError(f"priority {priority} is out of range: use 1-254 (255 is the address owner's)")
                outs = machine.set_priority(priority, now)
            case Demote():
                outs = machine.demote(now)
            case Failover():
                outs = machine.failover(now)
            case Resume():
                outs = machine.resume(now)
            case _:
                raise CommandError(f"unknown command {cmd!r}: use SetPriority, Demote, Failover or Resume")
        self._deadlines.rescan()
        return self._coordinate(outs, now)

    # --- lifecycle -----------------------------------------------------------------

    def shutdown(self, now: float) -> list[Output]:
        now = self._at(now)
        self._shut_down = True  # for good: a reload after it starts no machine
        self._deadlines.rescan()
        out: list[Output] = []
        for m in self._machines.values():
            out += m.shutdown(now)
        return out + self._group_notifies()

    def reload(
        self,
        new_config: Config,
        primary_addresses: Mapping[str, IPAddress] | None = None,
        now: float = 0.0,
        *,
        disabled_scripts: Iterable[str] | None = None,
    ) -> list[Output]:
        """Unchanged instances keep machine, state and VIPs; changed ones restart; removed ones stop.

        `disabled_scripts`: the new config's refused vrrp_scripts (None: keep the current set);
        an instance whose refused scripts differ counts as changed.
        """
        now = self._at(now)
        primary = primary_addresses or {}
        old_config, old = self.config, self._machines
        old_disabled = self._disabled_scripts
        if disabled_scripts is not None:
            self._disabled_scripts = set(disabled_scripts)
        out: list[Output] = []
        machines: dict[str, VrrpMachine] = {}
        fresh: list[VrrpMachine] = []
        for inst in new_config.instances:
            previous = old.get(inst.name)
            tracked = {t.name for t in inst.track_scripts}
            same_disabled = tracked & old_disabled == tracked & self._disabled_scripts
            if previous is not None and same_disabled and _same_setup(previous, old_config, inst, new_config, primary):
                previous.instance = previous.tracking.instance = inst  # its notify lines may be new
                machines[inst.name] = previous
                continue
            if previous is not None:
                out += previous.shutdown(now, Reason.RELOAD)
            machine = self._new_machine(inst, new_config, primary)
            machines[inst.name] = machine
            fresh.append(machine)
        for name, previous in old.items():
            if name not in machines:
                out += previous.shutdown(now, Reason.RELOAD)
        self.config, self._machines = new_config, machines
        self._deadlines.rescan()
        self._index()
        if self._started and not self._shut_down:
            for machine in fresh:
                out += machine.start(now)
        return self._coordinate(out, now)

    def status(self, now: float) -> tuple[InstanceStatus, ...]:
        now = self._at(now)
        return tuple(m.status(now) for m in self._machines.values())

    def advert_bytes(self, name: str, priority: int, src: IPAddress | None, dst: IPAddress | None) -> bytes:
        """The encoded advert (pseudo-header checksum form), built once per (priority, src, dst)."""
        cache = self._adverts[self.machine(name).name]
        return cache.get(priority, src, dst)

    def ah_datagrams(
        self, name: str, priority: int, src: IPAddress, destinations: list[IPAddress]
    ) -> list[bytes] | None:
        """For an `auth_type AH` instance, one advert round as whole IPv4 datagrams (one per destination,
        next sequence number); None for every other instance (send `advert_bytes` on a protocol-112 socket)."""
        entry = self._ah.get(self.machine(name).name)
        if entry is None:
            return None
        return entry[1].datagrams(self.advert_bytes(name, priority, None, None), src, destinations)

    def ah_resign_datagrams(self, name: str, src: IPAddress, destinations: list[IPAddress]) -> list[bytes] | None:
        """For an AH instance, the priority-0 round its guardian would send, numbered ahead of the adverts
        (AhState.resign_datagrams); None for every other instance."""
        entry = self._ah.get(self.machine(name).name)
        if entry is None:
            return None
        return entry[1].resign_datagrams(self.advert_bytes(name, 0, None, None), src, destinations)

    def ah_reserve_used(self, name: str) -> bool:
        """True once when an AH instance's adverts caught up with its journalled priority-0 round."""
        entry = self._ah.get(self.machine(name).name)
        return entry is not None and entry[1].reserve_used()

    def advert(self, name: str, priority: int) -> Advert:
        """The advert `advert_bytes` encodes (for observers: what we sent, without decoding it again)."""
        return self._adverts[self.machine(name).name].advert(priority)

    # --- sync groups ---------------------------------------------------------------

    def _each(self, call: Callable[[VrrpMachine], list[Output]], now: float) -> list[Output]:
        self._deadlines.rescan()
        out: list[Output] = []
        for m in list(self._machines.values()):
            out += call(m)
        return self._coordinate(out, now)

    def _coordinate(self, out: list[Output], now: float) -> list[Output]:
        """Sync groups move together: one FAULT -> all FAULT; one MASTER -> all MASTER; one steps down -> all."""
        if not self._peers and not self._group_state and not self.config.sync_groups:
            return out  # no sync group: nothing to coordinate (the common case, once per packet)
        if self._peers:  # other members' timers may move too
            self._deadlines.rescan()
        for name, others in self._peers.items():
            machine = self._machines[name]
            out += machine.set_group_fault(any(self._machines[o].own_fault for o in others), now)
        i = 0
        while i < len(out):
            event = out[i]
            i += 1
            if not isinstance(event, StateChanged) or event.reason is Reason.SYNC_GROUP:
                continue
            for other in self._peers.get(event.instance, ()):
                machine = self._machines[other]
                if event.new is State.MASTER:
                    out += machine.sync_master(now)
                elif event.old is State.MASTER and event.new is State.BACKUP:
                    out += machine.sync_backup(now)
        return out + self._group_notifies()

    def _group_notifies(self) -> list[Output]:
        """A sync group's own notify scripts run when the group as a whole changes state."""
        out: list[Output] = []
        groups = {g.name: g for g in self.config.sync_groups}
        for name in [n for n in self._group_state if n not in groups]:  # removed by a reload
            if self._group_state.pop(name) != "STOP":
                out.append(RunGroupNotify(name, "STOP"))
        for group in groups.values():
            states = [self._machines[n].state for n in group.members if n in self._machines]
            new = _group_state(states, self._group_state.get(group.name))
            if new is not None and new != self._group_state.get(group.name):
                self._group_state[group.name] = new
                if new in ("MASTER", "BACKUP", "FAULT"):
                    out.append(LogLine(f"VRRP_Group({group.name}) Syncing instances to {new} state"))
                out.append(RunGroupNotify(group.name, new))
        return out


def _group_state(states: list[State], previous: str | None) -> str | None:
    """The group's notify state from its members' (None: no change to report).

    keepalived: any member in FAULT -> FAULT; all MASTER -> MASTER; all BACKUP -> BACKUP;
    all stopped after running -> STOP. A mix while the members are being synced says nothing new.
    """
    if not states:
        return None
    if all(s is State.INIT for s in states):
        return "STOP" if previous is not None else None
    if State.FAULT in states:
        return "FAULT"
    if all(s is State.MASTER for s in states):
        return "MASTER"
    if all(s is State.BACKUP for s in states):
        return "BACKUP"
    return None


def _primary_address(inst: VrrpInstance, primary: Mapping[str, IPAddress]) -> IPAddress:
    address = primary.get(inst.name) or inst.unicast_src_ip or inst.mcast_src_ip
    if address is None:
        raise ValueError(
            f"{inst.file or '?'}:{inst.line}: vrrp_instance {inst.name}: no source address known for interface "
            f"{inst.interface}; give the interface an IPv{inst.family} address or set unicast_src_ip / mcast_src_ip"
        )
    return address


def _tracked_scripts(inst: VrrpInstance, config: Config) -> tuple[VrrpScript, ...]:
    names = {t.name for t in inst.track_scripts}
    return tuple(s for s in config.scripts if s.name in names)


# What an instance runs but its machine does not: a reload that changes only these keeps the instance's state
# and VIPs, as keepalived's does (the notify runner reads the new lines).
_NOT_SETUP = {"notify_master": None, "notify_backup": None, "notify_fault": None, "notify_stop": None,
              "notify": None, "notify_master_rx_lower_pri": None, "debug": 0}


def _setup(inst: VrrpInstance) -> VrrpInstance:
    return replace(inst, **_NOT_SETUP)  # type: ignore[arg-type]


def _script_setup(inst: VrrpInstance, config: Config) -> tuple[tuple[str, int, bool, bool], ...]:
    """What the machine takes from its tracked vrrp_scripts (Tracking): a new command, interval, timeout,
    rise/fall or user is the script runner's; the script's last result stands until the new one runs
    (keepalived: "considered successful on reload")."""
    return tuple((s.name, s.weight, s.weight_reverse, s.init_fail) for s in _tracked_scripts(inst, config))


def _same_setup(
    machine: VrrpMachine, old_config: Config, inst: VrrpInstance, new_config: Config, primary: Mapping[str, IPAddress]
) -> bool:
    try:
        address = _primary_address(inst, primary)
    except ValueError:
        return False
    return (
        (machine.instance == inst or _setup(machine.instance) == _setup(inst))
        and machine.primary_address == address
        and machine.check_unicast_src == new_config.global_defs.vrrp_check_unicast_src
        and _script_setup(inst, old_config) == _script_setup(inst, new_config)
    )


def _codec_drop_text(drop: Drop, src: IPAddress, payload: bytes) -> str:
    if drop.reason is DropReason.CHECKSUM:
        version = payload[0] >> 4 if payload else 0
        return f"Invalid VRRPv{version} checksum from {src}"
    return f"invalid packet from {src}: {drop.detail}"


def _is_multicast(address: IPAddress) -> bool:
    # ipaddress's is_multicast builds a network per call; this runs for every received advert
    first = address.packed[0]
    return first >= 0xE0 and first <= 0xEF if address.version == 4 else first == 0xFF
