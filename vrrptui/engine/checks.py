"""Per-instance checks on a decoded advert (RFC 3768 7.1, RFC 5798 7.1, keepalived's vrrp_check_packet).

`check_advert` returns why the advert must be dropped (reason, keepalived-worded log
text without the "(VI_1) " prefix) or None. The VIP-list comparison is separate:
a mismatch is counted and logged but the advert is still used (RFC 5798 7.1 "MAY").
"""

from __future__ import annotations

from vrrptui.config.model import VrrpInstance
from vrrptui.protocol.packet import AUTH_AH, AUTH_NONE, AUTH_PASS, VRRP_TTL, Advert, DropReason, IPAddress, pad_auth



def expected_auth(instance: VrrpInstance) -> tuple[int, bytes]:
    """v2 auth type and the 8 auth bytes our adverts carry."""
    auth = instance.authentication
    if auth is None:
        return AUTH_NONE, b"\0" * 8
    if auth.auth_type == "PASS":
        return AUTH_PASS, pad_auth(auth.auth_pass.encode("latin-1"))
    return AUTH_AH, b"\0" * 8


def _seconds(value: float) -> str:
    return f"{value:g}"


def check_advert(
    instance: VrrpInstance,
    advert: Advert,
    src: IPAddress,
    ttl: int,
    unicast: bool,
    check_unicast_src: bool,
) -> tuple[DropReason, str] | None:
    # RFC 5798 7.1: TTL/hop limit must be 255 whatever the destination (keepalived skips this for
    # unicast, so a host on another subnet could send adverts to our own address), unless the peer
    # has keepalived's `min_ttl` / `max_ttl` (keepalived 2.2.7 sends IPv6 unicast with hop limit 64
    # unless `unicast_ttl 255`); those also turn on the unicast source check, as in keepalived
    peers = instance.unicast_peers
    peer_addresses = {p.address for p in peers}
    ranges = {p.address: (p.min_ttl or 0, VRRP_TTL if p.max_ttl is None else p.max_ttl)
              for p in peers if p.min_ttl is not None or p.max_ttl is not None}
    low, high = ranges.get(src, (VRRP_TTL, VRRP_TTL)) if unicast else (VRRP_TTL, VRRP_TTL)
    if not low <= ttl <= high:
        sent_to = " (unicast)" if unicast else ""
        expect = f"{low}-{high}" if low != high else str(high)
        detail = f"invalid TTL/HL from {src}{sent_to}. Received {ttl} and expect {expect}"
        if unicast and src not in ranges and src in peer_addresses:
            # a configured peer, most likely keepalived 2.2.7 (IPv6 unicast leaves with hop limit 64):
            # say how to admit it, or the pair runs with two masters
            detail += (f" (if {src} runs keepalived, add `min_ttl {ttl}` to its unicast_peer line here,"
                       " or `unicast_ttl 255` to its config)")
        return DropReason.TTL, detail
    if advert.version != instance.version:
        return DropReason.VERSION, f"wrong version from {src}. Received {advert.version} and expect {instance.version}"
    if advert.family != instance.family:
        return DropReason.VERSION, f"IPv{advert.family} advert from {src} for an IPv{instance.family} instance"
    if instance.version == 2:
        auth_type, auth_data = expected_auth(instance)
        if advert.auth_type != auth_type:
            return DropReason.AUTH, (
                f"received an invalid auth type from {src}. Received {advert.auth_type} and expect {auth_type}"
            )
        if auth_type == AUTH_PASS and pad_auth(advert.auth_data) != auth_data:
            return DropReason.AUTH, f"received an invalid passwd from {src}!"
    if (check_unicast_src and peers or ranges) and src not in peer_addresses:
        return DropReason.UNICAST_SOURCE, f"unicast source address {src} not a unicast peer"
    # RFC 3768 7.1: a v2 advert with another interval is dropped (v3 adopts it instead)
    if instance.version == 2 and advert.max_advert_int != instance.advert_int:
        return DropReason.INTERVAL, (
            f"advertisement interval mismatch mine={_seconds(instance.advert_int)} sec"
            f" rcv'd={_seconds(advert.max_advert_int)} sec"
        )
    return None


def address_list_mismatch(
    instance: VrrpInstance, ours: tuple[IPAddress, ...], advert: Advert, src: IPAddress
) -> str | None:
    """keepalived's wording when the advert's VIPs differ from `ours` (the instance's advertised
    addresses, computed once by the machine); None when they match."""
    if ours == advert.addresses or sorted(ours, key=str) == sorted(advert.addresses, key=str):
        return None  # same order first: this runs per advert, and str() of addresses is slow
    if len(ours) != len(advert.addresses):
        return f"received an invalid ip number count {len(advert.addresses)} from {src}, expected {len(ours)}!"
    missing = [a for a in ours if a not in advert.addresses]
    return (
        f"ip address associated with VRID {instance.vrid} not present in MASTER advert from {src} : "
        + ", ".join(map(str, missing))
    )


def compare_addresses(a: IPAddress, b: IPAddress) -> int:
    """RFC 5798 6.4.3: the primary addresses compared as unsigned integers."""
    if a.version != b.version:
        return 0
    ia, ib = int(a), int(b)
    return (ia > ib) - (ia < ib)
