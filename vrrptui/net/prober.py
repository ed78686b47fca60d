"""Ask the wire who answers for each VIP, and the kernel whether it is local.

A thread sends one ARP request (IPv4) or neighbour solicitation (IPv6) per VIP per
second on raw AF_PACKET sockets, hand-built (no scapy: its import costs seconds),
reads replies and gratuitous announcements, and asks netlink which VIPs are local
when an address event says something changed (once a second if events are unavailable).
Between those it sleeps in one select() until the next probe is due: no polling.
It reports batches of `ProbeSent` / `Claim` / `LocalPresence` through a callback
(on its own thread: the caller marshals them, e.g. posts a message).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable

from vrrptui.net.linkwatch import LinkWatcher
from vrrptui.net.rtnl import RtnlSocket
from vrrptui.protocol.packet import internet_checksum, pseudo_header
from vrrptui.records import Claim, LocalPresence, ProbeEvent, ProbeSent

log = logging.getLogger(__name__)

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST = b"\xff" * 6
PACKET_OUTGOING = 4
ICMPV6 = 58
NS, NA = 135, 136


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


# --- frames --------------------------------------------------------------------------

def arp_request(src_mac: bytes, vip: ipaddress.IPv4Address) -> bytes:
    """An ARP probe (RFC 5227 2.1.1: sender address 0.0.0.0) for `vip`: no peer caches us from it."""
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac, b"\0" * 4, b"\0" * 6, vip.packed)
    return (BROADCAST + src_mac + struct.pack("!H", ETH_P_ARP) + arp).ljust(60, b"\0")


def neighbour_solicitation(src_mac: bytes, src_ll: ipaddress.IPv6Address, vip: ipaddress.IPv6Address) -> bytes:
    """RFC 4861 4.3 NS from our link-local (never from ::, which a node still in DAD reads as a duplicate)."""
    group = ipaddress.IPv6Address(b"\xff\x02" + b"\0" * 9 + b"\x01\xff" + vip.packed[-3:])
    body = struct.pack("!BBHI16s", NS, 0, 0, 0, vip.packed) + struct.pack("!BB6s", 1, 1, src_mac)
    # RFC 4443 2.3: the checksum covers the RFC 8200 8.1 pseudo-header (next header 58)
    checksum = internet_checksum(pseudo_header(src_ll, group, len(body), ICMPV6) + body)
    body = body[:2] + struct.pack("!H", checksum) + body[4:]
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(body), ICMPV6, 255, src_ll.packed, group.packed)
    dst_mac = b"\x33\x33" + group.packed[-4:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6) + ip6 + body


def parse_arp(frame: bytes, own_mac: bytes) -> tuple[str, str, str] | None:
    """(sender address, sender MAC, kind) of an ARP packet that claims an address."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    op = struct.unpack_from("!H", frame, 20)[0]
    sha, spa, tha, tpa = frame[22:28], frame[28:32], frame[32:38], frame[38:42]
    if spa == b"\0\0\0\0":
        return None  # a probe (ours or someone's): claims nothing
    kind = "reply" if op == 2 and tha == own_mac and spa != tpa else "announce"
    return str(ipaddress.IPv4Address(spa)), mac_text(sha), kind


def parse_na(frame: bytes) -> tuple[str, str, str] | None:
    """(target, MAC, kind) of a neighbour advertisement (RFC 4861 4.4)."""
    if len(frame) < 78 or frame[12:14] != b"\x86\xdd" or frame[20] != ICMPV6 or frame[54] != NA:
        return None
    solicited = bool(frame[58] & 0x40)
    target = str(ipaddress.IPv6Address(frame[62:78]))
    mac = frame[6:12]
    i = 78
    while i + 8 <= len(frame):  # options: type 2 = target link-layer address
        otype, olen = frame[i], frame[i + 1] * 8
        if olen == 0:
            break
        if otype == 2:
            mac = frame[i + 2:i + 8]
        i += olen
    return target, mac_text(mac), "reply" if solicited else "announce"


def link_local(ifname: str) -> ipaddress.IPv6Address | None:
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                addr, _idx, _plen, scope, _flags, name = line.split()
                if name == ifname and int(scope, 16) == 0x20:
                    return ipaddress.IPv6Address(bytes.fromhex(addr))
    except OSError:
        pass
    return None


def local_addresses() -> set[str]:
    """Every address on a local interface (one rtnetlink dump; no pyroute2 in the console's process)."""
    with RtnlSocket() as rt:
        return {str(entry.local) for entry in rt.addresses() if entry.local is not None}


# --- the thread ----------------------------------------------------------------------

class _Port:
    """The sockets of one interface."""

    def __init__(self, ifname: str, want_v6: bool) -> None:
        self.ifname = ifname
        self.arp = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        self.arp.bind((ifname, ETH_P_ARP))
        self.arp.setblocking(False)
        self.mac = self.arp.getsockname()[4][:6]
        self.v6: socket.socket | None = None
        self.link_local = link_local(ifname) if want_v6 else None
        if want_v6:
            self.v6 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
            self.v6.bind((ifname, ETH_P_IPV6))
            self.v6.setblocking(False)

    def sockets(self) -> list[socket.socket]:
        return [s for s in (self.arp, self.v6) if s is not None]

    def close(self) -> None:
        for s in self.sockets():
            s.close()


class VipProber:
    """Probe each VIP at `rate` per second; call `report(events)` from the prober thread.

    Also listens: gratuitous ARPs / unsolicited NAs and replies to others' requests that
    reach this host count as claims, which is all `active=False` does.
    """

    def __init__(
        self,
        report: Callable[[list[ProbeEvent]], None],
        rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        netlink: Callable[[], set[str]] | None = local_addresses,
        active: bool = True,
    ) -> None:
        self._report = report
        self.active = active  # False: listen only (`vrrptui sniff` without --probe sends nothing)
        self._period = 1.0 / rate
        self._clock = clock
        self._netlink = netlink
        self._vips: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        self.own_macs: set[str] = set()
        self.wakeups = 0  # times the thread woke up (tests: it sleeps until something is due)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)  # set_vips and stop wake the thread
        self._wake_lock = threading.Lock()
        self._closed = False

    def set_vips(self, vips: list[tuple[str, str | None]]) -> None:
        new = {str(ipaddress.ip_address(v)): ifname for v, ifname in vips}
        with self._lock:
            if new == self._vips:
                return
            self._vips = new
        self._wake()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vrrptui-vip-prober", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            with self._wake_lock:
                if not self._closed:
                    self._closed = True
                    os.close(self._wake_r)
                    os.close(self._wake_w)

    def _wake(self) -> None:
        with self._wake_lock:
            if self._closed:
                return
            try:
                os.write(self._wake_w, b"\0")
            except BlockingIOError:  # the pipe is full: the thread is awake already
                pass

    def _address_events(self) -> LinkWatcher | None:
        """Address events from rtnetlink; None (then netlink is asked once a second) if unavailable."""
        if self._netlink is None:
            return None
        try:
            return LinkWatcher(addresses=True)
        except OSError as e:
            self._error(f"address events: {e}; asking netlink once a second instead")
            return None

    def _run(self) -> None:
        ports: dict[str, _Port] = {}
        local: dict[str, bool] = {}
        next_probe: dict[str, float] = {}
        known: dict[str, str | None] = {}  # the VIPs local addresses were last checked for
        watcher = self._address_events()
        recheck = True  # ask netlink for local addresses at the next turn
        next_netlink = 0.0  # without address events: when to ask again
        try:
            while not self._stop.is_set():
                now = self._clock()
                events: list[ProbeEvent] = []
                with self._lock:
                    vips = dict(self._vips)
                if vips != known or (watcher is None and now >= next_netlink):
                    recheck, known = True, vips
                if self._netlink is not None and recheck:
                    recheck = False
                    next_netlink = now + self._period
                    try:
                        present = self._netlink()
                    except Exception as e:  # netlink unavailable: presence stays unknown
                        self._error(f"netlink: {e}")
                        present = None
                    if present is not None:
                        for vip in vips:
                            if local.get(vip) != (vip in present):
                                local[vip] = vip in present
                                events.append(LocalPresence(vip, vip in present, now))
                for vip, ifname in vips.items():
                    if ifname is None or now < next_probe.get(vip, 0.0):
                        continue
                    next_probe[vip] = now + self._period
                    port = self._port(ports, ifname, vips)
                    if port is not None and self.active and self._send(port, vip):
                        events.append(ProbeSent(vip, self._clock()))
                if events:
                    self._report(events)
                readable = self._sleep(ports, watcher, self._due(vips, next_probe, watcher, next_netlink))
                if watcher is not None and watcher.fileno() in readable:
                    try:
                        watcher.read()
                        recheck = bool(watcher.changed_addresses()) or recheck
                    except OSError as e:
                        self._error(f"address events: {e}; asking netlink once a second instead")
                        watcher.close()
                        watcher, recheck = None, True
                claims: list[ProbeEvent] = []
                for port in ports.values():
                    for sock in port.sockets():
                        if sock.fileno() in readable:
                            claims.extend(self._receive(port, sock, vips))
                if claims:
                    self._report(claims)
        finally:
            for port in ports.values():
                port.close()
            if watcher is not None:
                watcher.close()

    def _due(self, vips: dict[str, str | None], next_probe: dict[str, float], watcher: LinkWatcher | None,
             next_netlink: float) -> float | None:
        """Seconds until the next probe (or netlink poll) is due; None: nothing is."""
        due = [next_probe.get(vip, 0.0) for vip, ifname in vips.items() if ifname is not None]
        if self._netlink is not None and watcher is None:
            due.append(next_netlink)
        return max(0.0, min(due) - self._clock()) if due else None

    def _sleep(self, ports: dict[str, _Port], watcher: LinkWatcher | None, timeout: float | None) -> set[int]:
        """Wait for a frame, an address event, a wake-up or the timeout; the readable file descriptors."""
        fds = [s.fileno() for p in ports.values() for s in p.sockets()] + [self._wake_r]
        if watcher is not None:
            fds.append(watcher.fileno())
        readable = set(select.select(fds, [], [], timeout)[0])
        self.wakeups += 1
        if self._wake_r in readable:
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass
        return readable

    def _port(self, ports: dict[str, _Port], ifname: str, vips: dict[str, str | None]) -> _Port | None:
        if ifname in ports:
            return ports[ifname]
        want_v6 = any(ipaddress.ip_address(v).version == 6 for v, i in vips.items() if i == ifname)
        try:
            ports[ifname] = _Port(ifname, want_v6)
        except OSError as e:
            self._error(f"{ifname}: cannot open a raw socket ({e}); VIP probing is off there")
            return None
        self.own_macs.add(mac_text(ports[ifname].mac))
        return ports[ifname]

    def _send(self, port: _Port, vip: str) -> bool:
        addr = ipaddress.ip_address(vip)
        try:
            if addr.version == 4:
                port.arp.send(arp_request(port.mac, addr))
            elif port.v6 is not None and port.link_local is not None:
                port.v6.send(neighbour_solicitation(port.mac, port.link_local, addr))
            else:
                return False
        except OSError as e:
            self._error(f"{port.ifname}: probe for {vip} not sent ({e})")
            return False
        return True

    def _receive(self, port: _Port, sock: socket.socket, vips: dict[str, str | None]) -> list[Claim]:
        out = []
        for _ in range(64):
            try:
                frame, _addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                self._error(f"{port.ifname}: {e}")
                break
            parsed = parse_arp(frame, port.mac) if sock is port.arp else parse_na(frame)
            if parsed is not None and parsed[0] in vips:
                out.append(Claim(parsed[0], parsed[1], self._clock(), parsed[2]))
        return out

    def _error(self, text: str) -> None:
        if text not in self.errors:
            self.errors.append(text)
            log.warning("%s", text)
