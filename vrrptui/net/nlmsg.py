"""rtnetlink messages with _struct alone: framing, attributes, one request and its ack.

The first thing a daemon restarted after kill -9 does is delete the VIPs its dead run left
(daemon/stale.py), before anything heavy is imported; so this module imports only _struct (not
even `from __future__ import annotations`: that loads a module too).
`vrrptui.net.rtnl.RtnlSocket` builds its queries on it.

    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
    sock.bind((0, 0))  # no timeout: see receive()
    code = exchange(sock, 1, RTM_DELADDR, 0, address_body(socket.AF_INET, 24, 0, index, vip_packed))  # 0: done
"""

from _struct import Struct  # struct.py only re-exports it

TYPE_CHECKING = False  # typing is not imported either (mypy reads this as True)
if TYPE_CHECKING:
    from _socket import socket  # socket.socket's base: a restart's clean-up uses _socket alone

NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLMSG_DONE = 3
RTM_NEWADDR = 20
RTM_DELADDR = 21
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
IFA_FLAGS = 8

MSG_DONTWAIT = 0x40  # socket.MSG_DONTWAIT on Linux
RECV_SIZE = 1 << 16
TIMEOUT = 5.0  # seconds an answer may take

NLMSGHDR = Struct("=IHHII")  # length, type, flags, seq, pid
IFADDRMSG = Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTATTR = Struct("=HH")
_ERRNO = Struct("=i")


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to 4 bytes."""
    length = _RTATTR.size + len(payload)
    return _RTATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def attributes(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """The rtattrs between START and END by type (the last one wins)."""
    found: dict[int, bytes] = {}
    while start + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(data, start)
        if length < _RTATTR.size:
            break
        found[kind & 0x3FFF] = data[start + _RTATTR.size: start + length]  # without NLA_F_NESTED/BYTEORDER
        start += (length + 3) & ~3
    return found


def messages(data: bytes) -> list[tuple[int, int, bytes]]:
    """(type, seq, body) of each netlink message in one datagram; a truncated one ends the list."""
    out: list[tuple[int, int, bytes]] = []
    offset = 0
    while offset + NLMSGHDR.size <= len(data):
        length, msg_type, _flags, seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size or offset + length > len(data):
            break
        out.append((msg_type, seq, data[offset + NLMSGHDR.size: offset + length]))
        offset += (length + 3) & ~3
    return out


def error_code(payload: bytes) -> int:
    """The errno of an NLMSG_ERROR message (0: a bare ack)."""
    return -_ERRNO.unpack_from(payload)[0]


def receive(sock: "socket") -> bytes:
    """One datagram of the kernel's answer, on a socket without a timeout (with one, CPython polls before
    every send and recv: two more system calls per request). The kernel answers a request before its
    sendmsg returns, and queues each part of a dump as the one before is read, so this reads at once; an
    answer not there yet is waited for up to TIMEOUT seconds."""
    try:
        return sock.recv(RECV_SIZE, MSG_DONTWAIT)
    except BlockingIOError:
        import select  # only here: a restart's clean-up imports nothing it does not need

        if not select.select([sock], [], [], TIMEOUT)[0]:
            raise TimeoutError(f"rtnetlink did not answer within {TIMEOUT:g} s") from None
        return sock.recv(RECV_SIZE, MSG_DONTWAIT)


def send(sock: "socket", seq: int, kind: int, flags: int, body: bytes) -> None:
    sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), kind, flags, seq, 0) + body)


def exchange(sock: "socket", seq: int, kind: int, flags: int, body: bytes) -> int | bytes:
    """One request with NLM_F_ACK: its errno (0 for a bare ack), or the body of the kernel's answer."""
    send(sock, seq, kind, NLM_F_REQUEST | NLM_F_ACK | flags, body)
    answer: bytes | None = None
    while True:
        for msg_type, msg_seq, payload in messages(receive(sock)):
            if msg_seq != seq:
                continue
            if msg_type == NLMSG_ERROR:
                code = error_code(payload)
                return answer if code == 0 and answer is not None else code
            answer = payload


def address_body(family: int, prefixlen: int, scope: int, index: int, packed: bytes, attrs: bytes = b"") -> bytes:
    """The body of RTM_NEWADDR / RTM_DELADDR for one address (IFA_LOCAL and IFA_ADDRESS) and more attributes."""
    return IFADDRMSG.pack(family, prefixlen, 0, scope, index) + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed) \
        + attrs
