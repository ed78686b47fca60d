"""A raw VRRP (or AH) socket opened and set up with _socket alone: what VrrpSocket wraps.

A daemon restarted after kill -9 listens where its dead run listened first thing, before the
socket module (enum, selectors), typing or ipaddress are imported (daemon/earlylisten.py): its
Master_Down_Timer counts from then. So this module imports only _socket and _struct (and no
__future__); the socket is set up once, here, and VrrpSocket adopts it as it is.

    sock, family, ifindex = open_raw(4, "eth0", join_multicast=True, protocol=112)   # OSError, ValueError
    sock.sendmsg([advert], [source_pktinfo(family, src_packed, ifindex)], 0, (dst, 0))
"""

import _socket
from _struct import Struct  # struct.py only re-exports it

from vrrptui.protocol import VRRP_PROTO, VRRP_TTL

AH_PROTO = 51
VRRP_TOS = 0xC0  # internetwork control precedence, as keepalived sets
MCAST_V4_PACKED = _socket.inet_pton(_socket.AF_INET, "224.0.0.18")
MCAST_V6_PACKED = _socket.inet_pton(_socket.AF_INET6, "ff02::12")

# Linux values missing from Python 3.11's socket module (include/uapi/linux/in.h).
IP_TRANSPARENT = getattr(_socket, "IP_TRANSPARENT", 19)
IPV6_TRANSPARENT = getattr(_socket, "IPV6_TRANSPARENT", 75)
IP_MULTICAST_ALL = getattr(_socket, "IP_MULTICAST_ALL", 49)
IPV6_MULTICAST_ALL = getattr(_socket, "IPV6_MULTICAST_ALL", 29)

_IP_MREQN = Struct("=4s4si")  # imr_multiaddr, imr_address, imr_ifindex
_IPV6_MREQ = Struct("=16si")
IP_PKTINFO = getattr(_socket, "IP_PKTINFO", 8)  # missing from Python 3.11's socket module
IN_PKTINFO = Struct("=i4s4s")  # ipi_ifindex, ipi_spec_dst, ipi_addr
IN6_PKTINFO = Struct("=16si")  # ipi6_addr, ipi6_ifindex


def open_raw(family: int, ifname: str, *, join_multicast: bool = True,
             protocol: int = VRRP_PROTO) -> tuple[_socket.socket, int, int]:
    """A non-blocking raw socket of PROTOCOL on IFNAME, with (AF_INET or AF_INET6, interface index).

    Sends with TTL / hop limit 255 and TOS / traffic class 0xc0 from any of our addresses (or one just
    deleted: IP_TRANSPARENT when allowed), receives only the groups it joined. ValueError for a family
    or protocol VRRP does not use, OSError for an interface that is not there.
    """
    if family in (4, _socket.AF_INET):
        family = _socket.AF_INET
    elif family in (6, _socket.AF_INET6):
        family = _socket.AF_INET6
    else:
        raise ValueError(f"address family {family}: use 4 or 6 (socket.AF_INET / AF_INET6)")
    if protocol not in (VRRP_PROTO, AH_PROTO) or (protocol == AH_PROTO and family != _socket.AF_INET):
        raise ValueError(f"IP protocol {protocol}: use 112 (VRRP), or 51 (AH) on IPv4")
    try:
        ifindex = _socket.if_nametoindex(ifname)
    except OSError as exc:
        raise OSError(exc.errno, f"interface {ifname!r} not found in this network namespace") from exc
    sock = _socket.socket(family, _socket.SOCK_RAW | _socket.SOCK_NONBLOCK | _socket.SOCK_CLOEXEC, protocol)
    try:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_BINDTODEVICE, ifname.encode())
        if family == _socket.AF_INET:
            _configure_v4(sock, ifindex, protocol, join_multicast)
        else:
            _configure_v6(sock, ifindex, join_multicast)
    except BaseException:
        sock.close()
        raise
    return sock, family, ifindex


def _configure_v4(s: _socket.socket, ifindex: int, protocol: int, join_multicast: bool) -> None:
    if protocol == AH_PROTO:
        s.setsockopt(_socket.IPPROTO_IP, _socket.IP_HDRINCL, 1)
    s.setsockopt(_socket.IPPROTO_IP, _socket.IP_TTL, VRRP_TTL)
    s.setsockopt(_socket.IPPROTO_IP, _socket.IP_MULTICAST_TTL, VRRP_TTL)
    s.setsockopt(_socket.IPPROTO_IP, _socket.IP_TOS, VRRP_TOS)
    s.setsockopt(_socket.IPPROTO_IP, _socket.IP_MULTICAST_LOOP, 0)
    # Only the groups this socket joined, not every group any socket joined
    s.setsockopt(_socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
    s.setsockopt(_socket.IPPROTO_IP, _socket.IP_MULTICAST_IF, _IP_MREQN.pack(b"\0" * 4, b"\0" * 4, ifindex))
    try:  # a master whose address was just deleted still resigns from it (needs CAP_NET_ADMIN)
        s.setsockopt(_socket.IPPROTO_IP, IP_TRANSPARENT, 1)
    except PermissionError:
        pass
    if join_multicast:
        s.setsockopt(_socket.IPPROTO_IP, _socket.IP_ADD_MEMBERSHIP, _IP_MREQN.pack(MCAST_V4_PACKED, b"\0" * 4, ifindex))


def _configure_v6(s: _socket.socket, ifindex: int, join_multicast: bool) -> None:
    s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_UNICAST_HOPS, VRRP_TTL)
    s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_MULTICAST_HOPS, VRRP_TTL)
    s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_TCLASS, VRRP_TOS)
    s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_MULTICAST_LOOP, 0)
    s.setsockopt(_socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
    s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_MULTICAST_IF, ifindex)
    s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_RECVHOPLIMIT, 1)
    s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_RECVPKTINFO, 1)
    try:  # as IPv4: a master whose link-local address was just deleted still resigns from it
        s.setsockopt(_socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
    except PermissionError:
        pass
    if join_multicast:
        s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_JOIN_GROUP, _IPV6_MREQ.pack(MCAST_V6_PACKED, ifindex))


def source_pktinfo(family: int, src_packed: bytes, ifindex: int) -> tuple[int, int, bytes]:
    """The ancillary item that sends a message from SRC_PACKED (IP_PKTINFO's ipi_spec_dst, IPV6_PKTINFO);
    on IPv4 the interface stays SO_BINDTODEVICE's (ipi_ifindex 0)."""
    if family == _socket.AF_INET:
        return _socket.IPPROTO_IP, IP_PKTINFO, IN_PKTINFO.pack(0, src_packed, b"\0" * 4)
    return _socket.IPPROTO_IPV6, _socket.IPV6_PKTINFO, IN6_PKTINFO.pack(src_packed, ifindex)


def joined_v6(ifindex: int) -> bool:
    """Is ff02::12 in the interface's IPv6 multicast list (/proc/net/igmp6 of this namespace)? An MTU below
    1280 destroys the interface's IPv6 state, groups included, and nothing tells the sockets that joined."""
    wanted = MCAST_V6_PACKED.hex()
    try:
        with open("/proc/net/igmp6") as f:
            return any(len(w) >= 3 and w[0] == str(ifindex) and w[2] == wanted for w in map(str.split, f))
    except OSError:
        return True  # cannot tell: leave the socket as it is


def rejoin_v6(s: _socket.socket, ifindex: int) -> None:
    """Join ff02::12 on the interface again: the socket still lists the group, so it must leave it first."""
    mreq = _IPV6_MREQ.pack(MCAST_V6_PACKED, ifindex)
    try:
        s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_LEAVE_GROUP, mreq)
    except OSError:
        pass  # the device forgot it already: the socket's own entry is gone all the same
    s.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_JOIN_GROUP, mreq)
