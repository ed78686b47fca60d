"""The runtime's VRRP sockets: one per (interface, family, IP protocol) its instances use.

Adverts arrive on the base interface, and a `use_vmac` instance's multicast ones on its VMAC
(it joins the group there): a peer that sends from the same virtual MAC (the other router's
VMAC) is delivered by the kernel's macvlan to our macvlan of that MAC alone, never to the base
(macvlan_handle_frame: a multicast frame from one of the port's own MACs), so listening on the
base alone, a backup never hears such a master. keepalived sends from the VMAC unless
`vmac_xmit_base`. `auth_type AH` instances send and receive
IP protocol 51 (whole datagrams), the others 112. A send-only socket (VMAC) joins no
group, so the kernel queues nothing on it.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable, Iterable

from vrrptui.config.model import VrrpInstance
from vrrptui.daemon import earlylisten
from vrrptui.daemon.earlylisten import Listening, SocketKey
from vrrptui.engine.ah_state import uses_ah
from vrrptui.engine.outputs import LogFn, LogLine
from vrrptui.net.sockets import AH_PROTO, MCAST_V4, MCAST_V6, VRRP_PROTO, VrrpSocket
from vrrptui.protocol.packet import IPAddress


def recv_interface(inst: VrrpInstance) -> str:
    return inst.unicast_src_dev or inst.interface or ""


def listen_interface(inst: VrrpInstance) -> str:
    """Where the instance's adverts are read: its VMAC for a multicast `use_vmac` instance (see above)."""
    if inst.use_vmac and not inst.unicast:
        return inst.vmac_interface
    return recv_interface(inst)


VridFilter = tuple[bool, frozenset[int]]  # (True: only these VRIDs, False: all but these)


def heard_on_vmacs(instances: Iterable[VrrpInstance]) -> tuple[dict[str, str], dict[tuple[str, int], VridFilter]]:
    """(VMAC read on -> its base, (socket's interface, family) -> the VRIDs it reads): each advert is read by
    one socket. A peer's multicast advert from a MAC of its own reaches the base and every VMAC on it (the
    kernel gives each a copy): a VMAC's socket takes its own instances' VRIDs, the base's socket the others;
    without a base socket (every instance there on a VMAC), the first VMAC's takes the others (a VRID not
    configured here is counted once). What is read on a VMAC is the base's for everything downstream."""
    bases: dict[str, str] = {}
    own: dict[tuple[str, int], set[int]] = {}  # (VMAC, family) -> its instances' VRIDs
    for inst in instances:
        if listen_interface(inst) != recv_interface(inst):
            bases[inst.vmac_interface] = recv_interface(inst)
            own.setdefault((inst.vmac_interface, inst.family), set()).add(inst.vrid)
    on_base = {(key[0], key[1]) for key in receive_keys(instances) if key[0] not in bases}
    filters: dict[tuple[str, int], VridFilter] = {}
    for base, family in sorted({(bases[vmac], family) for vmac, family in own}):
        vmacs = sorted(vmac for vmac, fam in own if fam == family and bases[vmac] == base)
        taken = frozenset(vrid for vmac in vmacs for vrid in own[vmac, family])
        if (base, family) in on_base:
            filters[base, family] = (False, taken)
        for i, vmac in enumerate(vmacs):
            mine = frozenset(own[vmac, family])
            others_here = i == 0 and (base, family) not in on_base
            filters[vmac, family] = (False, taken - mine) if others_here else (True, mine)
    return bases, filters


def send_interface(inst: VrrpInstance) -> str:
    """The VMAC for a multicast `use_vmac` instance (unless `vmac_xmit_base`); unicast adverts leave from the
    base, as keepalived's do: from the VMAC, the ARP for the peer (from the virtual MAC) would reach the peer's
    own macvlan of that MAC, never its base, and go unanswered."""
    if inst.use_vmac and not inst.vmac_xmit_base and not inst.unicast:
        return inst.vmac_interface
    return recv_interface(inst)


def socket_key(inst: VrrpInstance, ifname: str) -> SocketKey:
    return ifname, inst.family, AH_PROTO if uses_ah(inst) else VRRP_PROTO


def receive_keys(instances: Iterable[VrrpInstance]) -> dict[SocketKey, bool]:
    """The receiving sockets a set of instances needs, each with whether it joins the VRRP group."""
    wanted: dict[SocketKey, bool] = {}
    for inst in instances:
        key = socket_key(inst, listen_interface(inst))
        wanted[key] = wanted.get(key, False) or not inst.unicast
    return wanted


def destinations(inst: VrrpInstance) -> list[IPAddress]:
    """Where an instance's adverts go: its unicast peers, else the VRRP group of its family."""
    return [p.address for p in inst.unicast_peers] or [MCAST_V4 if inst.family == 4 else MCAST_V6]


class SocketPool:
    """Opens what a set of instances needs, closes what they no longer need, reads with `on_readable`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_readable: Callable[[str, VrrpSocket], None],
                 log: LogFn) -> None:
        self._loop = loop
        self._on_readable = on_readable
        self._log = log
        self.receiving: dict[SocketKey, VrrpSocket] = {}
        self.send_only: dict[SocketKey, VrrpSocket] = {}

    def open(self, instances: Iterable[VrrpInstance]) -> None:
        instances = list(instances)
        want_recv = receive_keys(instances)
        want_send = {socket_key(inst, send_interface(inst)) for inst in instances} - set(want_recv)
        for key, join in want_recv.items():
            if key not in self.receiving:
                self._add_receiving(key, join)
        for key in want_send:
            if key not in self.send_only:
                self.send_only[key] = VrrpSocket(key[1], key[0], join_multicast=False, protocol=key[2])
        for key in [k for k in self.receiving if k not in want_recv]:
            self._close_receiving(key)
        for key in [k for k in self.send_only if k not in want_send or k in want_recv]:
            self.send_only.pop(key).close()

    def open_at_start(self, instances: Iterable[VrrpInstance]) -> None:
        """`open`, adopting what `earlylisten` opened after a kill -9 (the rest is closed)."""
        self.open(instances)
        earlylisten.close_rest()

    def drain(self, on_readable: Callable[[str, VrrpSocket], None]) -> None:
        """Read what every receiving socket queued while the daemon was starting."""
        for (ifname, _, _), sock in list(self.receiving.items()):
            on_readable(ifname, sock)

    def reopen(self, interfaces: set[str], instances: Iterable[VrrpInstance]) -> None:
        """`interfaces` were deleted and created again: sockets bound to the old ones are deaf and mute."""
        for key in [k for k in self.receiving if k[0] in interfaces]:
            self._close_receiving(key)
        for key in [k for k in self.send_only if k[0] in interfaces]:
            self.send_only.pop(key).close()
        self._log(LogLine(f"{', '.join(sorted(interfaces))} created again: reopening its VRRP sockets"))
        try:
            self.open(instances)
        except OSError as exc:  # gone again already: the next link event retries
            self._log(LogLine(f"cannot reopen VRRP sockets: {exc}", level="warning"))

    def rejoin(self, interfaces: Iterable[str]) -> None:
        """IPv6 came back on `interfaces` (a link-local was added): a socket whose group the kernel dropped with
        the interface's IPv6 state joins it again, else it hears no advert and becomes a second master."""
        wanted = set(interfaces)
        for key, sock in self.receiving.items():
            if key[0] not in wanted:
                continue
            try:
                if sock.rejoin():
                    self._log(LogLine(f"{key[0]}: IPv6 came back without ff02::12: joined it again"))
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.ENODEV):  # no IPv6 there now: joined when it comes back
                    self._log(LogLine(f"{key[0]}: cannot join ff02::12 again: {exc}", level="warning"))

    def for_sending(self, inst: VrrpInstance) -> tuple[SocketKey, VrrpSocket | None]:
        key = socket_key(inst, send_interface(inst))
        return key, self.sending(key)

    def sending(self, key: SocketKey) -> VrrpSocket | None:
        return self.receiving.get(key) or self.send_only.get(key)

    def listening(self) -> Listening:
        """(key, joined the group) of every receiving socket: what a restart after kill -9 opens first."""
        return [(key, sock.multicast) for key, sock in self.receiving.items()]

    def listening_since(self) -> float | None:
        """When the last receiving socket was opened (loop clock); None without any."""
        return max((sock.opened_at for sock in self.receiving.values()), default=None)

    def close(self) -> None:
        for key in list(self.receiving):
            self._close_receiving(key)
        for sock in self.send_only.values():
            sock.close()
        self.send_only.clear()

    def _add_receiving(self, key: SocketKey, join: bool) -> None:
        sock = earlylisten.take(key, join) or VrrpSocket(key[1], key[0], join_multicast=join, protocol=key[2])
        self.receiving[key] = sock
        self._loop.add_reader(sock.fileno(), self._on_readable, key[0], sock)
        group = f"multicast, address({MCAST_V4 if key[1] == 4 else MCAST_V6})" if join else "unicast"
        self._log(LogLine(f"VRRP sockpool: [ifindex({sock.ifindex:3d}), family(IPv{key[1]}), proto({key[2]}), "
                          f"fd({sock.fileno()}) {group}]", detail=True))

    def _close_receiving(self, key: SocketKey) -> None:
        sock = self.receiving.pop(key)
        try:
            self._loop.remove_reader(sock.fileno())
        except (ValueError, OSError):
            pass
        sock.close()
