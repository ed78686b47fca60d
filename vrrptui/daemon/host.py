"""What this process changes on the host (VIPs, VMACs, ARP/NA announcements, no_accept drop rules), and its undo.

The runtime must give back exactly what it took: on exit only the VIPs this process
added are removed (an address that was already there, e.g. an address owner's own
address, is never touched), and only the VMACs it created or adopted are deleted.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterable

from vrrptui.config.model import Config, VirtualAddress, VrrpInstance
from vrrptui.daemon.stale import VipJournal
from vrrptui.daemon.routing import Routing
from vrrptui.engine.machine import LOG_RATE_LIMIT
from vrrptui.engine.outputs import LogFn, LogLine
from vrrptui.engine.ratelimit import LogLimiter
from vrrptui.net import gratuitous
from vrrptui.net.netlink import Netlink, VipChange
from vrrptui.net.nftables import VipFirewall
from vrrptui.protocol.packet import IPAddress

NoteFn = Callable[[str, str], None]  # (instance, text) for the observer


def default_dev(inst: VrrpInstance) -> str:
    """Where an instance's VIPs go unless they name a `dev`: its VMAC, else its interface."""
    if inst.use_vmac:
        return inst.vmac_interface
    if inst.interface is None:
        raise ValueError(f"vrrp_instance {inst.name} has no interface for its VIPs")
    return inst.interface


def configured_source(inst: VrrpInstance) -> IPAddress | None:
    return inst.unicast_src_ip or inst.mcast_src_ip


def claimable_vips(inst: VrrpInstance) -> list[tuple[VirtualAddress, str]]:
    """The VIPs the instance may add, with their interface: none of an address owner's (its VIP is usually the
    interface's own address: never taken away), nor the configured source address. Present on the host while
    the instance is not master, one was left by a run that died (the start's clean-up, the journal's `may`)."""
    if inst.owner:
        return []
    try:
        dev_default = default_dev(inst)
    except ValueError:
        return []
    source = configured_source(inst)
    return [(vip, vip.dev or dev_default) for vip in inst.all_vips if vip.address != source]


class HostChanges:
    def __init__(self, netlink: Netlink, loop: asyncio.AbstractEventLoop, log: LogFn, note: NoteFn,
                 guard: Callable[[Callable[..., None]], Callable[..., None]], journal: VipJournal | None = None
                 ) -> None:
        self.netlink = netlink
        self._loop = loop
        self._log = log
        self._note = note
        self._guard = guard
        self.added_vips: dict[str, list[tuple[VirtualAddress, str]]] = {}  # instance -> (VIP, default dev)
        self.vmacs: dict[str, int | None] = {}  # our VMACs -> the interface index they had when we made them
        self._vmac_errors = LogLimiter(LOG_RATE_LIMIT)  # a VMAC that cannot come back fails at every link event
        self._gratuitous = gratuitous.GratuitousSender()  # one socket for the process's lifetime
        # built ahead (prepare_takeover, or prepare_vips / prepare_announcements) for the instance's next takeover
        self._vip_changes: dict[str, list[tuple[VirtualAddress, VipChange | Exception]]] = {}
        self._prepared: dict[str, list[tuple[VirtualAddress, str, gratuitous.Announcement]]] = {}
        self._journal = journal
        self._journal_due = False
        self.firewall = VipFirewall()  # keepalived's drop rules for masters without Accept_Mode
        self.routing = Routing(netlink, log)  # virtual_routes/rules as MASTER, static_* for the process's life

    # --- VMACs ----------------------------------------------------------------------

    def create_vmacs(self, instances: Iterable[VrrpInstance]) -> None:
        from vrrptui.net import vmac

        for inst in instances:
            if not inst.use_vmac or inst.vmac_interface in self.vmacs or inst.interface is None:
                continue
            name = inst.vmac_interface
            # an existing VMAC with our MAC on our base (a crashed run's) is adopted, a wrong one replaced
            vmac.create_vmac(inst.interface, name, inst.vmac_address, netlink=self.netlink)
            self.vmacs[name] = self.netlink.link_index(name)
            self._log(LogLine(f"({inst.name}) Setting VMAC {name} with address {inst.vmac_address} on {inst.interface}",
                              detail=True))

    def restore_vmacs(self, instances: Iterable[VrrpInstance], names: set[str]) -> set[str]:
        """Our VMACs `names` went down or vanished (by hand, or with their base): bring them up or create them
        again; returns those done. keepalived re-creates them too, after a trip through FAULT."""
        from vrrptui.net import vmac

        done: set[str] = set()
        for inst in instances:
            name, base = inst.vmac_interface, inst.interface
            if not inst.use_vmac or base is None or name not in names or name in done:
                continue
            try:
                vmac.create_vmac(base, name, inst.vmac_address, netlink=self.netlink, again=True)
                self.vmacs[name] = self.netlink.link_index(name)
            except (OSError, LookupError, ValueError) as exc:
                line = self._vmac_errors.text((name, str(exc)), self._loop.time(),
                                              f"({inst.name}) cannot bring VMAC {name} back on {base}: {exc}")
                if line is not None:
                    self._log(LogLine(line, level="error"))
                continue
            done.add(name)
            self._log(LogLine(f"({inst.name}) VMAC {name} went down or was deleted: brought it back on {base}",
                              level="warning"))
        return done

    def delete_vmacs(self, keep: Config | None = None) -> None:
        """Delete our VMACs (those `keep` still uses stay)."""
        from vrrptui.net import vmac

        wanted = {i.vmac_interface for i in keep.instances if i.use_vmac} if keep is not None else set()
        for name in [n for n in self.vmacs if n not in wanted]:
            try:
                vmac.delete_vmac(name, netlink=self.netlink)
            except OSError as exc:
                self._log(LogLine(f"cannot delete VMAC {name}: {exc}", level="warning"))
            del self.vmacs[name]

    # --- VIPs -----------------------------------------------------------------------

    def remove_stale_vips(self, instances: Iterable[VrrpInstance], keep: Iterable[IPAddress] = ()) -> None:
        """Before the engine runs these instances none of their VIPs can be ours: any present was left by a
        crash. On a reload (new instances), never one a running instance holds, nor an address in KEEP (the
        running instances' advert sources: a new instance whose VIP is this router's own address)."""
        present = self.netlink.addresses()
        held = {(vip.dev or dev, vip.address) for added in self.added_vips.values() for vip, dev in added}
        keep = set(keep)
        for inst in instances:
            stale = [(vip, dev) for vip, dev in claimable_vips(inst)
                     if (dev, vip.address) not in held and vip.address not in keep
                     and any(ifname == dev and iface.ip == vip.address for ifname, iface, _ in present)]
            if not stale:
                continue
            self._log(LogLine(f"({inst.name}) removing VIPs."))
            for vip, dev in stale:
                try:
                    self.netlink.remove_vip(vip, dev)
                    self._log(LogLine(f"({inst.name}) removed {vip} from {dev}, left by an earlier run", detail=True))
                except OSError as exc:
                    self._log(LogLine(f"({inst.name}) cannot remove stale VIP {vip}: {exc}", level="error"))

    def remove_stale_firewall(self, instances: Iterable[VrrpInstance]) -> None:
        """A killed run's drop rules go before the engine runs, whatever this config's Accept_Mode (they would
        block its VIPs for good); without nft there can be none, unless an instance needs it (then: an error)."""
        if shutil.which("nft") is None and all(inst.accept for inst in instances):
            return
        try:
            self.firewall.clear()
        except OSError as exc:
            self._log(LogLine(f"cannot remove firewall drop rules left by an earlier run: {exc}", level="error"))

    def prepare_takeover(self, inst: VrrpInstance) -> None:
        """When the instance becomes backup: its next takeover's VIP requests and GARP / NA frames (MACs read
        now), so that its advert, VIPs and announcements then leave with nothing looked up or built. Kept only
        when all could be built (else they are built, and failures said, at the takeover); `forget_prepared`
        drops them when links change."""
        try:
            dev_default = default_dev(inst)
        except ValueError:
            return
        changes = self._vip_requests(inst, dev_default)
        frames = self._announcements(inst, strict=True)
        if frames is not None and not any(isinstance(change, Exception) for _, change in changes):
            self._vip_changes[inst.name] = changes
            self._prepared[inst.name] = frames

    def forget_prepared(self) -> None:
        """A link appeared, went, or changed (its index, its MAC): what was built ahead may name the old one."""
        self._vip_changes.clear()
        self._prepared.clear()

    def prepare_vips(self, inst: VrrpInstance) -> None:
        """Before a new master's advert: the drop rule without Accept_Mode (an nft run, milliseconds), and the
        rtnetlink requests of the VIPs unless prepare_takeover built them, so that add_vips only sends them."""
        dev_default = default_dev(inst)
        if not inst.accept:
            self._block(inst, dev_default)
        if inst.name not in self._vip_changes:
            self._vip_changes[inst.name] = self._vip_requests(inst, dev_default)

    def _vip_requests(self, inst: VrrpInstance, dev_default: str) -> list[tuple[VirtualAddress, VipChange | Exception]]:
        """The rtnetlink requests of the VIPs the instance does not hold yet (a failure kept, said when adding)."""
        held = self.added_vips.get(inst.name, [])
        changes: list[tuple[VirtualAddress, VipChange | Exception]] = []
        for vip in inst.all_vips:
            if any(v == vip for v, _ in held) or any(v == vip for v, _ in changes):
                continue
            try:
                changes.append((vip, self.netlink.vip_change(vip, dev_default)))
            except (OSError, LookupError, ValueError) as exc:  # ValueError: a value rtnetlink cannot carry
                changes.append((vip, exc))  # said when adding
        return changes

    def add_vips(self, inst: VrrpInstance) -> None:
        """The VIPs up, after a no_accept drop rule (prepare_vips, earlier or now: what it did is not done
        again); the rest waits for vips_added, after the advert."""
        self.prepare_vips(inst)
        changes = self._vip_changes.pop(inst.name)
        dev_default = default_dev(inst)
        added = self.added_vips.setdefault(inst.name, [])
        for vip, change in changes:
            try:
                if isinstance(change, Exception):
                    raise change
                if self.netlink.add_vip(vip, dev_default, change):
                    added.append((vip, dev_default))
            except (OSError, LookupError, ValueError) as exc:
                self._log(LogLine(f"({inst.name}) cannot add VIP {vip} on {vip.dev or dev_default}: {exc}",
                                  level="error"))

    def vips_added(self, inst: VrrpInstance) -> None:
        """After add_vips, once the batch's adverts and GARPs are out: the virtual routes (a route may use a VIP
        as `src`), the observers' note, the journal."""
        added = self.added_vips.get(inst.name, [])
        self._note(inst.name, f"VIPs added: {', '.join(str(v) for v, _ in added) or 'none'}")
        self.routing.add_instance(inst, default_dev(inst))
        self.journal_soon()

    def remove_vips(self, name: str) -> None:
        """Remove exactly the VIPs (and virtual routes/rules) this process added for the instance."""
        self.routing.remove_instance(name)
        added = self.added_vips.pop(name, [])
        for vip, dev_default in added:
            try:
                self.netlink.remove_vip(vip, dev_default)
            except (OSError, LookupError) as exc:
                self._log(LogLine(f"({name}) cannot remove VIP {vip} from {vip.dev or dev_default}: {exc}",
                                  level="error"))
        if added:
            self._note(name, f"VIPs removed: {', '.join(str(v) for v, _ in added)}")
            self.journal_soon()
        self._unblock(name)

    def journal_soon(self) -> None:
        """Record the held VIPs after the current batch (never between a new master's advert, VIPs and GARPs)."""
        if self._journal is not None and not self._journal_due:
            self._journal_due = True
            self._loop.call_soon(self._guard(self.journal_now))

    def journal_now(self, closing: bool = False) -> None:
        self._journal_due = False
        if self._journal is None:
            return
        try:
            self._journal.write(((vip.dev or dev, str(vip.interface)) for added in self.added_vips.values()
                                 for vip, dev in added), closing)
        except OSError as exc:
            self._log(LogLine(f"cannot record the VIPs held in {self._journal.path}: {exc.strerror or exc}",
                              level="warning"))

    def close_journal(self) -> None:
        """At the stop, once the VIPs are removed: the journal goes, unless a VIP could not be removed (it stays
        listed for the guardian and the next start); nothing is journalled after this."""
        self.journal_now(closing=True)
        self._journal = None

    # --- no_accept: keepalived's firewall drop rule -------------------------------------

    def _block(self, inst: VrrpInstance, dev_default: str) -> None:
        """Before the VIPs go up, as keepalived: nothing may reach them between the two steps."""
        first = inst.name not in self.firewall.blocked
        try:
            self.firewall.block(inst.name, [(vip.address, vip.dev or dev_default) for vip in inst.all_vips])
        except OSError as exc:
            self._log(LogLine(f"({inst.name}) cannot set firewall drop rule: {exc}; the VIPs will accept traffic "
                              f"although Accept_Mode is off", level="error"))
            return
        if first:
            self._log(LogLine(f"({inst.name}) setting firewall drop rule"))

    def _unblock(self, name: str) -> None:
        try:
            if self.firewall.unblock(name):
                self._log(LogLine(f"({name}) removing firewall drop rule"))
        except OSError as exc:
            self._log(LogLine(f"({name}) cannot remove firewall drop rule: {exc}", level="error"))

    def holding(self) -> list[str]:
        """Instances for which we hold VIPs right now."""
        return [name for name, added in self.added_vips.items() if added]

    def remove_all_vips(self, keep: Iterable[str] = ()) -> None:
        keep = set(keep)
        for name in [n for n in self.added_vips if n not in keep]:
            if self.added_vips.get(name):
                self._log(LogLine(f"({name}) removing VIPs."))
            self.remove_vips(name)

    # --- gratuitous ARP / unsolicited NA ----------------------------------------------

    def announce_again(self, inst: VrrpInstance) -> None:
        """A master's first burst again (its VIP was put back)."""
        self.send_gratuitous_burst(inst, inst.garp_master_repeat, max(inst.garp_interval, inst.gna_interval), False)

    def prepare_announcements(self, inst: VrrpInstance) -> None:
        """The instance's GARPs / NAs for its first burst as master, unless prepare_takeover built them: a new
        master's advert, VIPs and announcements then leave back to back."""
        if inst.name not in self._prepared:
            self._prepared[inst.name] = self._announcements(inst) or []

    def send_gratuitous_burst(self, inst: VrrpInstance, count: int, spacing: float, first: bool) -> None:
        """`count` rounds of GARPs (IPv4) / unsolicited NAs (IPv6), one per VIP of the instance in each."""
        prepared = self._prepared.pop(inst.name, None) if first else None
        if count <= 0:
            return
        frames = prepared if prepared is not None else self._announcements(inst) or []
        if not first:  # the engine logs the first burst when it enters MASTER
            for vip, dev, _ in frames:
                kind = "gratuitous ARPs" if vip.family == 4 else "Unsolicited Neighbour Adverts"
                self._log(LogLine(f"({inst.name}) Sending/queueing {kind} on {dev} for {vip.address}", detail=True))
        for i in range(count):
            if spacing > 0 and i > 0:
                self._loop.call_later(spacing * i, self._guard(self._send_round), inst.name, frames)
            else:
                self._send_round(inst.name, frames)

    def _announcements(self, inst: VrrpInstance, strict: bool = False
                       ) -> list[tuple[VirtualAddress, str, gratuitous.Announcement]] | None:
        """(VIP, its interface, its GARP / NA) for every VIP of the instance whose frame could be built (the
        others said); STRICT: None, unsaid, when one could not."""
        dev_default = default_dev(inst)
        frames = []
        for vip in inst.all_vips:
            dev = vip.dev or dev_default
            # VIPs on the VMAC are announced from the base interface with the virtual MAC, as keepalived does
            if inst.use_vmac and dev == inst.vmac_interface and inst.interface:
                out_dev, mac = inst.interface, inst.vmac_address
            else:
                out_dev, mac = dev, None
            try:
                frames.append((vip, dev, self._gratuitous.announcement(out_dev, vip.address, mac)))
            except (OSError, ValueError) as exc:
                if strict:
                    return None
                self._log(LogLine(f"({inst.name}) cannot send gratuitous announcement for {vip.address} on {out_dev}: "
                                  f"{exc}", level="warning"))
        return frames

    def _send_round(self, name: str, frames: list[tuple[VirtualAddress, str, gratuitous.Announcement]]) -> None:
        """One GARP / NA per VIP, back to back; their log lines after."""
        sent = []
        for vip, dev, announcement in frames:
            try:
                self._gratuitous.send(announcement)
            except OSError as exc:
                self._log(LogLine(f"({name}) cannot send gratuitous announcement for {vip.address} on "
                                  f"{announcement.ifname}: {exc}", level="warning"))
            else:
                sent.append((vip, dev))
        for vip, dev in sent:
            kind = "gratuitous ARP" if vip.family == 4 else "unsolicited Neighbour Advert"
            self._log(LogLine(f"Sending {kind} on {dev} for {vip.address}", detail=True))
