"""VrrpSocket.drain on a scripted socket: every queued packet up to the limit, malformed IP headers counted."""

from __future__ import annotations

import ipaddress
import socket

from vrrptui.net.sockets import VrrpSocket


def ipv4_datagram(src: str, payload: bytes, protocol: int = 112) -> bytes:
    header = bytes([0x45, 0xC0, 0, 20 + len(payload), 0, 0, 0, 0, 255, protocol, 0, 0])
    return header + ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address("224.0.0.18").packed + payload


class ScriptedSocket:
    def __init__(self, queued: list[bytes]) -> None:
        self.queued = queued
        self.reads = 0

    def recv(self, _bufsize: int) -> bytes:
        self.reads += 1
        if not self.queued:
            raise BlockingIOError
        return self.queued.pop(0)

    def recvmsg(self, *_args: int) -> tuple[bytes, list, int, tuple]:
        raise AssertionError("IPv4 reads the IP header, not ancillary data")

    def poll(self, timeout: float) -> list[tuple[int, int]]:  # the socket's own epoll: anything queued?
        assert timeout == 0
        return [(3, 1)] if self.queued else []


def scripted(queued: list[bytes]) -> VrrpSocket:
    sock = VrrpSocket.__new__(VrrpSocket)
    sock.family, sock.protocol, sock.malformed = socket.AF_INET, 112, 0
    sock._sock = sock._queued = ScriptedSocket(queued)  # type: ignore[assignment]
    return sock


def test_drain_reads_every_queued_packet_and_counts_malformed_ones() -> None:
    good = [ipv4_datagram(f"192.0.2.{i}", bytes([0x31, i])) for i in range(1, 6)]
    bad = [b"\x45", b"\x60" + bytes(30), ipv4_datagram("192.0.2.9", b"\x31\x09", protocol=6)]
    sock = scripted([good[0], bad[0], good[1], bad[1], good[2], good[3], bad[2], good[4]])
    got = sock.drain(256)
    expected = [(bytes([0x31, i]), f"192.0.2.{i}", 255) for i in range(1, 6)]
    assert [(r.payload, str(r.src), r.ttl) for r in got] == expected
    assert sock.malformed == 3
    assert sock.drain(256) == [] and sock.recv() is None


def test_drain_stops_at_its_limit_and_leaves_the_rest_queued() -> None:
    sock = scripted([ipv4_datagram("192.0.2.1", bytes([0x31, i])) for i in range(10)])
    assert [r.payload[1] for r in sock.drain(4)] == [0, 1, 2, 3]
    assert sock._sock.reads == 4  # type: ignore[attr-defined]  # no read past the limit
    assert [r.payload[1] for r in sock.drain(256)] == list(range(4, 10))


def test_a_lone_packet_is_read_without_a_read_that_fails() -> None:
    sock = scripted([ipv4_datagram("192.0.2.1", b"\x31\x01")])
    assert len(sock.drain(256)) == 1
    assert sock._sock.reads == 1  # type: ignore[attr-defined]  # epoll said nothing more was queued


def test_batches_read_what_arrives_while_a_batch_is_handled_up_to_the_limit() -> None:
    sock = scripted([ipv4_datagram("192.0.2.1", bytes([0x31, i])) for i in range(3)])
    seen: list[list[int]] = []
    for batch in sock.batches(7):
        seen.append([r.payload[1] for r in batch])
        if len(seen) == 1:  # a master's burst goes on while the first batch is handled
            sock._sock.queued += [ipv4_datagram("192.0.2.1", bytes([0x31, i])) for i in range(3, 10)]  # type: ignore[attr-defined]
    assert seen == [[0, 1, 2], [3, 4, 5, 6]]  # 7 in all; the rest waits for the next wake-up
    assert [r.payload[1] for r in sock.drain(256)] == [7, 8, 9]


def test_batches_end_when_nothing_more_arrived() -> None:
    sock = scripted([ipv4_datagram("192.0.2.1", b"\x31\x01")])
    assert [len(batch) for batch in sock.batches(256)] == [1]
    assert sock._sock.reads == 1  # type: ignore[attr-defined]  # no read that fails: epoll was asked
