"""The console's per-packet stores are bounded rings of compact records, equal to what they replace."""

from __future__ import annotations

import gc
import random
from collections import deque

import pytest

from vrrptui.observe.packets import PacketRing
from vrrptui.observe.timeline import Adverts


def test_packet_ring_keeps_the_newest_packets_in_order_and_at_most_its_limit():
    ring = PacketRing(1000, chunk=64)
    sent = [(1_700_000_000.0 + i / 2550, bytes([i % 256]) * (20 + i % 40)) for i in range(5000)]
    for wall, packet in sent:
        ring.append(wall, packet)
        assert len(ring) <= 1000
    frames = ring.frames()
    assert 1000 - 64 < len(frames) == len(ring) <= 1000
    assert frames == sent[-len(frames):]
    assert ring.total == 5000


def test_packet_ring_smaller_than_a_chunk():
    ring = PacketRing(10)
    for i in range(25):
        ring.append(float(i), b"x" * i)
    assert [w for w, _ in ring.frames()] == [float(i) for i in range(25)][-len(ring):] and 7 <= len(ring) <= 10


def test_packet_ring_holds_no_python_object_per_packet():
    ring = PacketRing(100_000)
    before = len(gc.get_objects())
    for i in range(20_000):
        ring.append(float(i), b"\x45" * 60)
    assert len(gc.get_objects()) - before < 100  # 20 chunks, not 20,000 tuples


def test_adverts_ring_behaves_like_the_deque_it_replaces():
    rng = random.Random(7)
    ring, model = Adverts(50), deque(maxlen=50)
    for i in range(2000):
        if model and rng.random() < 0.3:
            ring.popleft()
            model.popleft()
        else:
            item = (i * 0.1, rng.choice((0, 100, 254)), rng.choice("|MP0"))
            ring.append(item)
            model.append(item)
        assert len(ring) == len(model) and bool(ring) == bool(model)
        if model:
            assert ring[0] == model[0] and ring[-1] == model[-1]
    assert list(ring) == list(model)
    assert list(Adverts(5, model)) == list(model)[-5:]
    with pytest.raises(IndexError):
        Adverts(3)[0]


def test_session_keeps_the_packets_w_writes_as_raw_ip_with_wall_clock_times():
    import ipaddress

    from vrrptui.observe.session import Session, raw_ip_packet
    from vrrptui.protocol.packet import Advert, decode, encode
    from vrrptui.records import Heard

    src, dst = ipaddress.ip_address("192.168.1.12"), ipaddress.ip_address("224.0.0.18")
    heard = []
    for i in range(300):
        payload = encode(Advert.from_fields(3, 1 + i % 7, 100, 0.1, (ipaddress.ip_address("192.168.1.13"),)), src, dst)
        heard.append(Heard("eth0", 10.0 + i * 0.01, src, dst, 255, decode(payload, src, dst), payload))
    session = Session(None, max_packets=200, wall_offset=1_700_000_000.0)
    session.feed(heard, 13.0)
    frames = session.pcap_frames()
    assert 150 <= len(frames) <= 200 and session.packets.total == 300
    assert frames == [(1_700_000_000.0 + h.at, raw_ip_packet(h)) for h in heard[-len(frames):]]
