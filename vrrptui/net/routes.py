"""Routes and policy rules through rtnetlink (pyroute2), for virtual_routes/rules and static_routes/rules.

`add_*` returns True when this call added the entry and False when it was already there
(the caller then does not own it and must not remove it); `remove_*` returns False when it
was already gone.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Any

from vrrptui.config.model import PolicyRule, StaticRoute
from vrrptui.net.netlink import Netlink

ROUTE_TYPES = {"unicast": 1, "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9}
RTNH_F_ONLINK = 4
FIB_RULE_INVERT = 2
FR_ACT_TO_TBL = 1
FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}


def _route_request(netlink: Netlink, route: StaticRoute, default_dev: str | None) -> dict[str, Any]:
    request: dict[str, Any] = {"dst": str(route.destination), "family": FAMILY[route.family],
                               "type": ROUTE_TYPES[route.kind]}
    dev = route.dev or (default_dev if route.kind == "unicast" and route.gateway is None else None)
    if dev is not None:
        request["oif"] = netlink.require_index(dev)
    if route.gateway is not None:
        request["gateway"] = str(route.gateway)
    if route.source is not None:
        request["prefsrc"] = str(route.source)
    for field, key in (("table", "table"), ("metric", "priority"), ("protocol", "proto"), ("scope", "scope")):
        if getattr(route, field) is not None:
            request[key] = getattr(route, field)
    if route.onlink:
        request["flags"] = RTNH_F_ONLINK
    return request


def _rule_request(rule: PolicyRule) -> dict[str, Any]:
    request: dict[str, Any] = {"family": FAMILY[rule.family], "table": rule.table, "action": FR_ACT_TO_TBL}
    for prefix, network in (("src", rule.source), ("dst", rule.destination)):
        if network is not None:
            request[prefix] = str(network.network_address)
            request[f"{prefix}_len"] = network.prefixlen
    for field, key in (("priority", "priority"), ("iif", "iifname"), ("oif", "oifname"), ("fwmark", "fwmark"),
                       ("fwmask", "fwmask")):
        if getattr(rule, field) is not None:
            request[key] = getattr(rule, field)
    if rule.invert:
        request["flags"] = FIB_RULE_INVERT
    return request


def _change(netlink: Netlink, kind: str, command: str, request: dict[str, Any], what: str) -> bool:
    from pyroute2.netlink.exceptions import NetlinkError

    failed = f"cannot {'add' if command == 'add' else 'remove'} {what}"
    try:
        netlink.request(kind, command, **request)
    except NetlinkError as exc:
        if command == "add" and exc.code == errno.EEXIST:
            return False
        if command == "del" and exc.code in (errno.ESRCH, errno.ENOENT, errno.ENODEV):
            return False
        raise OSError(exc.code, f"{failed}: {exc}") from exc
    except (struct.error, ValueError) as exc:  # a value the message cannot carry (the config reader refuses them)
        raise OSError(errno.EINVAL, f"{failed}: {exc}") from exc
    return True


def add_route(netlink: Netlink, route: StaticRoute, default_dev: str | None = None) -> bool:
    return _change(netlink, "route", "add", _route_request(netlink, route, default_dev), f"route {route.text}")


def remove_route(netlink: Netlink, route: StaticRoute, default_dev: str | None = None) -> bool:
    try:
        request = _route_request(netlink, route, default_dev)
    except LookupError:
        return False  # its interface is gone, and the route with it
    return _change(netlink, "route", "del", request, f"route {route.text}")


def add_rule(netlink: Netlink, rule: PolicyRule) -> bool:
    return _change(netlink, "rule", "add", _rule_request(rule), f"rule {rule.text}")


def remove_rule(netlink: Netlink, rule: PolicyRule) -> bool:
    return _change(netlink, "rule", "del", _rule_request(rule), f"rule {rule.text}")
