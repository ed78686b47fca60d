"""`use_vmac`: a macvlan carrying the RFC 5798 7.3 virtual MAC, set up the way keepalived does it.

keepalived (vrrp_vmac.c, vrrp_if_config.c) creates a macvlan in private mode on the base
interface with 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID (IPv6), brings it up and sets:
  - on the VMAC: arp_ignore=1 (answer only for addresses on the VMAC itself, i.e. the VIPs),
    accept_local=1 (hear another local instance's adverts), rp_filter=0 (receive with no
    address of its own), promote_secondaries=1; IPv4 instances also disable IPv6 on it;
  - on the base interface: arp_ignore=1 and arp_filter=1, so the base does not answer ARP
    for the VIPs with its own MAC. The old values are restored when its last VMAC goes.
IPv6 instances get addr_gen_mode none (no MAC-derived link-local, RFC 5798 7.4) and the
base interface's link-local address instead, so adverts leave from a non-VIP address; a base
with none yet (re-created, still down) lends the link-local its MAC gives (EUI-64), as keepalived does.
Needs CAP_NET_ADMIN; runs in the caller's network namespace.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
from typing import Any

from vrrptui.net.netlink import Netlink

log = logging.getLogger(__name__)

VMAC_PREFIX_V4 = "00:00:5e:00:01:"
VMAC_PREFIX_V6 = "00:00:5e:00:02:"

# base ifname -> (arp_ignore, arp_filter before our first VMAC, number of our VMACs on it)
_base_saved: dict[str, tuple[str, str, int]] = {}


def vmac_address(vrid: int, family: int = 4) -> str:
    """RFC 5798 7.3 virtual router MAC address."""
    if not 1 <= vrid <= 255:
        raise ValueError(f"VRID {vrid} is outside 1-255")
    return (VMAC_PREFIX_V4 if family == 4 else VMAC_PREFIX_V6) + f"{vrid:02x}"


def link_local_from_mac(mac: str) -> ipaddress.IPv6Address:
    """The modified EUI-64 link-local address of a MAC (RFC 4291 2.5.1, appendix A)."""
    octets = bytes.fromhex(mac.replace(":", ""))
    eui64 = bytes([octets[0] ^ 0x02]) + octets[1:3] + b"\xff\xfe" + octets[3:6]
    return ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + eui64)


def _sysctl_path(family: int, ifname: str, key: str) -> str:
    return f"/proc/sys/net/ipv{family}/conf/{ifname}/{key}"


def read_sysctl(family: int, ifname: str, key: str) -> str:
    with open(_sysctl_path(family, ifname, key)) as f:
        return f.read().strip()


def write_sysctl(family: int, ifname: str, key: str, value: str | int) -> None:
    try:
        with open(_sysctl_path(family, ifname, key), "w") as f:
            f.write(f"{value}\n")
    except OSError as exc:
        raise OSError(exc.errno, f"cannot set net.ipv{family}.conf.{ifname}.{key}={value}: {exc.strerror}") from exc


def _link(netlink: Netlink, ifname: str) -> Any | None:
    index = netlink.link_index(ifname)
    if index is None:
        return None
    links = _request(netlink, f"read interface {ifname!r}", "get_links", index)
    return links[0] if links else None


def _request(nl: Netlink, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """`nl.request(method, ...)`; pyroute2's NetlinkError (no OSError) is raised as an OSError with its errno,
    so every caller's handling of failed interface changes applies."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        return nl.request(method, *args, **kwargs)
    except NetlinkError as exc:
        message = exc.args[1] if len(exc.args) > 1 and exc.args[1] else os.strerror(exc.code)
        raise OSError(exc.code, f"cannot {what}: {message}") from exc


def _kind(link: Any) -> str | None:
    info = link.get("IFLA_LINKINFO")
    return info.get("IFLA_INFO_KIND") if info is not None else None


def _with_netlink(netlink: Netlink | None) -> tuple[Netlink, bool]:
    return (netlink, False) if netlink is not None else (Netlink(), True)


def create_vmac(base_ifname: str, name: str, mac: str, *, netlink: Netlink | None = None,
                again: bool = False) -> bool:
    """Create (or adopt) the VMAC interface `name` on `base_ifname`. True if created now.

    An existing macvlan with the right MAC on the right base is reused (a restart after a
    crash); one with a wrong MAC or base is replaced. A non-macvlan interface of that name
    is never touched: that is an error for the operator to resolve. `again`: a VMAC this
    process made went down or was deleted (by hand, or with its base): it is brought up or
    created again, and the base's ARP settings are set again (a re-created base has the
    defaults) without holding the base twice.
    """
    mac = mac.lower()
    family = 6 if mac.startswith(VMAC_PREFIX_V6) else 4
    if len(name) > 15:
        raise ValueError(f"VMAC interface name {name!r} is longer than 15 characters")
    nl, own = _with_netlink(netlink)
    try:
        base_index = nl.link_index(base_ifname)
        if base_index is None:
            raise LookupError(f"use_vmac: base interface {base_ifname!r} does not exist in this network namespace")
        created = True
        existing = _link(nl, name)
        if existing is not None and again:
            existing = _up_again(nl, existing)
        if existing is not None:
            if _kind(existing) != "macvlan":
                raise OSError(f"use_vmac: {name!r} exists and is not a macvlan; rename it or set vmac name")
            if str(existing.get("IFLA_ADDRESS")).lower() == mac and existing.get("IFLA_LINK") == base_index:
                created = False
            else:
                log.info("removing old VMAC interface %s: wrong MAC or base interface", name)
                _request(nl, f"remove the old VMAC interface {name!r}", "link", "del", index=existing["index"])
        if created:
            _request(nl, f"create VMAC interface {name!r} on {base_ifname!r}", "link", "add", ifname=name,
                     kind="macvlan", link=base_index, macvlan_mode="private", address=mac)
        held = _base_saved.get(base_ifname)
        try:
            _configure(nl, base_ifname, name, family, created, again)
        except BaseException:
            if created:  # not left behind half set up: nothing else would remove it
                _undo_create(nl, base_ifname, name, held)
            raise
        return created
    finally:
        if own:
            nl.close()


def _undo_create(nl: Netlink, base_ifname: str, name: str, held: tuple[str, str, int] | None) -> None:
    if _base_saved.get(base_ifname) != held:
        _release_base(base_ifname)
    try:  # the error that brought us here is the one to report
        link = _link(nl, name)
        if link is not None:
            _request(nl, f"remove VMAC interface {name!r}", "link", "del", index=link["index"])
    except OSError as exc:
        log.warning("VMAC interface %s could not be set up, nor removed: %s", name, exc)


def _up_again(nl: Netlink, link: Any) -> Any | None:
    """Bring a VMAC that went down back up; None if it is gone. The request waits for the RTNL lock, so a
    deletion in progress (its first event is the link going down) has finished when it fails."""
    try:
        nl.request("link", "set", index=link["index"], state="up")
    except Exception as exc:  # pyroute2's NetlinkError is no OSError
        code = getattr(exc, "code", None)
        if code != errno.ENODEV:
            text = f"cannot bring {link.get('IFLA_IFNAME')!r} up again: {exc}"
            raise (OSError(code, text) if isinstance(code, int) else OSError(text)) from exc
        return None
    return link


def _configure(nl: Netlink, base_ifname: str, name: str, family: int, created: bool, again: bool) -> None:
    write_sysctl(4, name, "arp_ignore", 1)
    write_sysctl(4, name, "accept_local", 1)
    write_sysctl(4, name, "rp_filter", 0)
    write_sysctl(4, name, "promote_secondaries", 1)
    if again and base_ifname in _base_saved:
        _set_base_arp(base_ifname)
    elif created or base_ifname not in _base_saved:
        _hold_base(base_ifname)
    if family == 4:
        write_sysctl(6, name, "disable_ipv6", 1)
    else:
        write_sysctl(6, name, "disable_ipv6", 0)
        write_sysctl(6, name, "addr_gen_mode", 1)  # IN6_ADDR_GEN_MODE_NONE
    index = nl.require_index(name)
    _request(nl, f"bring VMAC interface {name!r} up", "link", "set", index=index, state="up")
    if family == 6:
        base_ll = nl.primary_address(base_ifname, 6) or link_local_from_mac(nl.link_mac(base_ifname))
        if not nl.has_address(base_ll, name):
            _request(nl, f"add {base_ll} to VMAC interface {name!r}", "addr", "add", index=index, address=str(base_ll),
                     prefixlen=64, flags=0x02)  # IFA_F_NODAD


def _hold_base(base_ifname: str) -> None:
    saved = _base_saved.get(base_ifname)
    if saved is None:
        saved = (read_sysctl(4, base_ifname, "arp_ignore"), read_sysctl(4, base_ifname, "arp_filter"), 0)
        _set_base_arp(base_ifname)
    _base_saved[base_ifname] = (saved[0], saved[1], saved[2] + 1)


def _set_base_arp(base_ifname: str) -> None:
    write_sysctl(4, base_ifname, "arp_ignore", 1)
    write_sysctl(4, base_ifname, "arp_filter", 1)


def _release_base(base_ifname: str) -> None:
    saved = _base_saved.get(base_ifname)
    if saved is None:
        return
    arp_ignore, arp_filter, count = saved
    if count > 1:
        _base_saved[base_ifname] = (arp_ignore, arp_filter, count - 1)
        return
    del _base_saved[base_ifname]
    try:
        write_sysctl(4, base_ifname, "arp_ignore", arp_ignore)
        write_sysctl(4, base_ifname, "arp_filter", arp_filter)
    except OSError as exc:  # the base may be gone already
        log.info("could not restore ARP settings on %s: %s", base_ifname, exc)


def delete_vmac(name: str, *, netlink: Netlink | None = None) -> bool:
    """Delete the VMAC interface `name`; True if it existed. Refuses anything but a macvlan."""
    nl, own = _with_netlink(netlink)
    try:
        link = _link(nl, name)
        if link is None:
            return False
        if _kind(link) != "macvlan":
            raise OSError(f"refusing to delete {name!r}: it is not a macvlan (VMAC) interface")
        base_index = link.get("IFLA_LINK")
        base_name = next(
            (link.get("IFLA_IFNAME") for link in _request(nl, "list interfaces", "get_links")
             if link["index"] == base_index), None
        )
        _request(nl, f"delete VMAC interface {name!r}", "link", "del", index=link["index"])
        if base_name is not None:
            _release_base(base_name)
        return True
    finally:
        if own:
            nl.close()
