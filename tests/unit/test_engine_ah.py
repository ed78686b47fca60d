"""Fake-clock tests of `auth_type AH` in the engine: two routers talk through whole IPv4 datagrams."""

from __future__ import annotations

from test_machine import ME, PEER, instance
from vrrptui.config.model import Authentication, Config
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import Dropped, Output, SendAdvert, State
from vrrptui.protocol import ah
from vrrptui.protocol.packet import MCAST_V4, DropReason

AH_AUTH = Authentication("AH", "secret12")


def engine(priority: int, address, auth: Authentication | None = AH_AUTH) -> Engine:
    inst = instance(priority=priority, authentication=auth)
    e = Engine(Config(path="k.conf", instances=(inst,)), {"VI_1": address}, now=0.0)
    e.start(0.0)
    return e


def fire(e: Engine, until: float) -> list[Output]:
    out: list[Output] = []
    while (t := e.get_timer()) is not None and t <= until:
        out += e.handle_timer(t)
    return out


def datagrams(e: Engine, outs: list[Output], src) -> list[bytes]:
    sent: list[bytes] = []
    for o in outs:
        if isinstance(o, SendAdvert):
            sent += e.ah_datagrams(o.instance, o.priority, src, [MCAST_V4]) or []
    return sent


def drops(outs: list[Output]) -> list[str]:
    return [o.detail for o in outs if isinstance(o, Dropped)]


def test_master_counts_ids_and_sequence_numbers_from_one() -> None:
    a = engine(150, ME)
    sent = datagrams(a, fire(a, 10.0), ME)
    parsed = [ah.parse(d) for d in sent]
    assert [p.sequence for p in parsed] == list(range(1, len(sent) + 1))  # type: ignore[union-attr]
    assert [int.from_bytes(d[4:6], "big") for d in sent] == list(range(1, len(sent) + 1))
    assert a.machine("VI_1").state is State.MASTER


def test_backup_accepts_verified_adverts_and_continues_the_sequence_when_it_takes_over() -> None:
    a, b = engine(150, ME), engine(100, PEER)
    now, last = 0.0, b""
    for _ in range(6):
        now += 1.0
        for d in datagrams(a, fire(a, now), ME):
            assert drops(b.receive_ah_packet("eth0", d, now)) == []
            last = d
        fire(b, now)
    assert b.machine("VI_1").state is State.BACKUP
    heard = ah.parse(last).sequence  # type: ignore[union-attr]
    assert drops(b.receive_ah_packet("eth0", last, now)) == [
        f"IPSEC-AH : sequence number {heard} already processed. Packet dropped. Local({heard})"]
    outs = fire(b, now + 10.0)  # a went silent
    assert b.machine("VI_1").state is State.MASTER
    first = ah.parse(datagrams(b, outs, PEER)[0])
    assert first.sequence == heard + 1  # type: ignore[union-attr]


def test_wrong_password_is_an_auth_drop() -> None:
    a, b = engine(150, ME), engine(100, PEER, Authentication("AH", "other"))
    d = datagrams(a, fire(a, 5.0), ME)[0]
    assert drops(b.receive_ah_packet("eth0", d, 5.0)) == [
        "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"]
    assert b.machine("VI_1").counters.drops[DropReason.AUTH.value] == 1


def test_plain_adverts_to_an_ah_instance_and_ah_to_a_plain_one_are_dropped() -> None:
    plain, secured = engine(150, ME, None), engine(100, PEER)
    payload = plain.advert_bytes("VI_1", 150, ME, MCAST_V4)
    assert drops(secured.receive_packet("eth0", ME, MCAST_V4, 255, payload, 1.0)) == [
        f"No AH header but auth type is AH (from {ME})"]
    d = datagrams(secured, [SendAdvert("VI_1", 100)], PEER)[0]
    assert drops(plain.receive_ah_packet("eth0", d, 1.0)) == [f"Received AH header but auth type not AH (from {PEER})"]
    assert plain.ah_datagrams("VI_1", 150, ME, [MCAST_V4]) is None


def test_reload_keeps_the_counters_of_an_unchanged_instance_only() -> None:
    a = engine(150, ME)
    sent = datagrams(a, fire(a, 10.0), ME)
    config = a.config
    a.reload(config, {"VI_1": ME}, 10.0)
    (after,) = datagrams(a, [SendAdvert("VI_1", 150)], ME)
    assert ah.parse(after).sequence == len(sent) + 1  # type: ignore[union-attr]
    changed = Config(path="k.conf", instances=(instance(priority=150, authentication=Authentication("AH", "new")),))
    a.reload(changed, {"VI_1": ME}, 10.0)
    (fresh,) = datagrams(a, [SendAdvert("VI_1", 150)], ME)
    assert ah.parse(fresh).sequence == 1  # type: ignore[union-attr]


def test_the_guardians_priority_zero_round_is_numbered_ahead_and_taken_by_the_backup() -> None:
    """The journalled round (daemon/guardian.py sends it after a kill -9) is RESIGN_RESERVE ahead of the
    adverts: the backup takes it as new and as a priority 0, however many adverts went before it, up to
    the reserve; then the engine says once that it must be built again."""
    from vrrptui.engine.ah_state import RESIGN_RESERVE

    a, b = engine(150, ME), engine(100, PEER)
    now = 0.0
    for _ in range(5):
        now += 1.0
        for d in datagrams(a, fire(a, now), ME):
            b.receive_ah_packet("eth0", d, now)
        fire(b, now)
    assert a.machine("VI_1").state is State.MASTER and b.machine("VI_1").state is State.BACKUP
    sent = ah.parse(datagrams(a, [SendAdvert("VI_1", 150)], ME)[0]).sequence  # type: ignore[union-attr]
    [resign] = a.ah_resign_datagrams("VI_1", ME, [MCAST_V4]) or []
    parsed = ah.parse(resign)
    assert isinstance(parsed, ah.AhPacket) and parsed.sequence == sent + RESIGN_RESERVE + 1
    assert ah.verify(parsed, ah.hmac_key("secret12"), unicast=False) is None
    assert ah.parse(datagrams(a, [SendAdvert("VI_1", 150)], ME)[0]).sequence == sent + 1  # type: ignore[union-attr]
    for _ in range(RESIGN_RESERVE - 2):
        datagrams(a, [SendAdvert("VI_1", 150)], ME)
        assert not a.ah_reserve_used("VI_1")
    outs = b.receive_ah_packet("eth0", resign, now + 0.1)
    assert drops(outs) == []  # new to the backup: its sequence is above every advert sent
    assert b.machine("VI_1").master_priority == 0  # a priority 0: Skew_Time to the takeover
    datagrams(a, [SendAdvert("VI_1", 150)], ME)  # the counter reaches the reserve's end
    assert a.ah_reserve_used("VI_1") and not a.ah_reserve_used("VI_1")
    assert a.ah_resign_datagrams("VI_1", ME, [MCAST_V4]) and not a.ah_reserve_used("VI_1")  # built again
