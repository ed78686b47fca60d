"""Routes and policy rules: virtual_routes / virtual_rules (as master) and static_routes / static_rules.

keepalived takes `ip route add` / `ip rule add` syntax. vrrptui acts on the options below; a line
with any other option (multipath `nexthop`, `mtu`, `realms`, ...) is reported and not installed,
rather than installed differently from what it says.

    route: [src IP] [to] DEST|default [via|gw IP] [dev IF] [scope S] [table T] [metric|priority|preference N]
           [protocol|proto P] [onlink] [inet6] [no_track] [track_group G], or blackhole|unreachable|prohibit|throw DEST
    rule:  [not] [from PREFIX|all] [to PREFIX|all] [iif|iifname IF] [oif|oifname IF] [fwmark N[/M]]
           [priority|preference|pref N] [table|lookup T] [inet6] [no_track] [track_group G]
"""

from __future__ import annotations

import ipaddress

from vrrptui.config import values as v
from vrrptui.config.blocks import Statement
from vrrptui.config.model import PolicyRule, StaticRoute
from vrrptui.config.values import Reporter

RT_TABLES = "/etc/iproute2/rt_tables"
TABLES = {"main": 254, "local": 255, "default": 253}
PROTOCOLS = {"redirect": 1, "kernel": 2, "boot": 3, "static": 4, "ra": 9, "dhcp": 16, "keepalived": 18, "bird": 12,
             "zebra": 11, "babel": 42, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189}
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
ROUTE_TYPES = {"blackhole", "unreachable", "prohibit", "throw"}
IGNORED_FLAGS = {"no_track", "append"}  # keepalived bookkeeping; no effect on what is installed here


class _Unsupported(Exception):
    pass


class _Invalid(Exception):
    """A value neither keepalived nor the kernel takes (the route or rule is not installed by either)."""


U32 = 2**32 - 1


def _number(text: str, what: str, high: int = U32, base: int = 10) -> int:
    """A whole number in 0..high, as the kernel's attribute holds it (u32, or u8 for a protocol)."""
    try:
        value = v.c_number(text) if base == 0 else v.whole_number(text)
    except ValueError:
        raise _Invalid(f"{what} '{text}' is not a whole number") from None
    if not 0 <= value <= high:
        raise _Invalid(f"{what} {text} is out of range 0-{high}")
    return value


def _ifname(text: str, what: str) -> str:
    if not v.is_interface_name(text):  # a word of the line: it has no spaces
        raise _Invalid(f"{what} '{text[:40]}' is not a Linux interface name (1-{v.IFNAMSIZ} bytes, no '/')")
    return text


def _table(text: str) -> int:
    if text in TABLES:
        return TABLES[text]
    if text.isascii() and text.isdigit():
        return _number(text, "table")
    try:
        with open(RT_TABLES, encoding="utf-8") as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) == 2 and words[1] == text and words[0].isascii() and words[0].isdigit():
                    return _number(words[0], f"table {text} in {RT_TABLES}")
    except OSError:
        pass
    raise _Unsupported(f"table '{text}' is neither a number nor named in {RT_TABLES}")


def _network(text: str, inet6: bool) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if text in ("default", "all"):
        return None if text == "all" else ipaddress.ip_network("::/0" if inet6 else "0.0.0.0/0")
    try:
        if "%" in text:
            raise ValueError(text)  # a zone (`fe80::%eth0/64`): the kernel's route has none
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _Unsupported(f"'{text}' is not an address or prefix") from None


def _one_family(fields: dict[str, object], keys: tuple[str, ...], inet6: bool, what: str) -> None:
    """keepalived's "Cannot mix IPv4 and IPv6 addresses": every address of a route or rule, and `inet6`,
    name one family (the kernel would refuse the request at run time)."""
    kinds = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network)
    versions = {value.version for key in keys if isinstance(value := fields.get(key), kinds)}
    if inet6:
        versions.add(6)
    if len(versions) > 1:
        raise _Invalid(f"it mixes IPv4 and IPv6 addresses (or `inet6` with IPv4 ones): a {what} is of one family")


def _not_installed(exc: Exception, what: str) -> str:
    if isinstance(exc, _Invalid):
        return f"{exc}: neither vrrptui nor keepalived installs this {what}; correct the value"
    reason = str(exc) if isinstance(exc, _Unsupported) else f"bad value ({exc})"
    return f"{reason}: vrrptui does not install this {what} (keepalived would); see docs/keepalived-compat.md"


def _words(st: Statement) -> list[str]:
    return [st.keyword.text, *st.words()]


def parse_route(r: Reporter, st: Statement) -> StaticRoute | None:
    words = _words(st)
    text = " ".join(words)
    inet6 = "inet6" in words
    fields: dict[str, object] = {}
    try:
        while words:
            word = words.pop(0)
            if word in ("inet6", "inet") or word in IGNORED_FLAGS:
                continue
            if word == "onlink":
                fields["onlink"] = True
                continue
            if word in ROUTE_TYPES:
                fields["kind"] = word
                continue
            if word == "track_group" and words:
                words.pop(0)
                continue
            if word in ("src", "via", "gw", "dev", "scope", "table", "metric", "priority", "preference", "protocol",
                        "proto", "to"):
                if not words:
                    raise _Unsupported(f"'{word}' needs a value")
                value = words.pop(0)
                if word in ("via", "gw") and value in ("inet", "inet6") and words:
                    value = words.pop(0)  # `via inet6 ADDR`, as ip-route(8) allows
                if word == "to":
                    fields["destination"] = _network(value, inet6)
                elif word == "src":
                    fields["source"] = v.ip_address(value)
                elif word in ("via", "gw"):
                    fields["gateway"] = v.ip_address(value)
                elif word == "scope":
                    if value not in SCOPES:
                        raise _Unsupported(f"scope '{value}' is not known")
                    fields["scope"] = SCOPES[value]
                elif word == "table":
                    fields["table"] = _table(value)
                elif word in ("protocol", "proto"):
                    fields["protocol"] = PROTOCOLS[value] if value in PROTOCOLS else _number(value, "protocol", 255)
                elif word == "dev":
                    fields["dev"] = _ifname(value, "dev")
                else:
                    fields["metric"] = _number(value, word)
                continue
            if "destination" not in fields:
                fields["destination"] = _network(word, inet6)
                continue
            raise _Unsupported(f"option '{word}' is not acted on by vrrptui")
        if fields.get("destination") is None:
            raise _Unsupported("no destination")
        _one_family(fields, ("destination", "source", "gateway"), inet6, "route")
    except (_Unsupported, _Invalid, ValueError, KeyError) as exc:
        r.warning(st, f"route '{text}': {_not_installed(exc, 'route')}")
        return None
    return StaticRoute(text=text, file=st.file, line=st.line, **fields)  # type: ignore[arg-type]


def parse_rule(r: Reporter, st: Statement) -> PolicyRule | None:
    words = _words(st)
    text = " ".join(words)
    inet6 = "inet6" in words
    fields: dict[str, object] = {}
    try:
        while words:
            word = words.pop(0)
            if word in ("inet6", "inet") or word in IGNORED_FLAGS:
                continue
            if word == "not":
                fields["invert"] = True
                continue
            if not words:
                raise _Unsupported(f"'{word}' needs a value" if word in ("from", "to", "table") else
                                   f"option '{word}' is not acted on by vrrptui")
            value = words.pop(0)
            if word in ("from", "to"):
                fields["source" if word == "from" else "destination"] = _network(value, inet6)
            elif word in ("table", "lookup"):
                fields["table"] = _table(value)
            elif word in ("priority", "preference", "pref"):
                fields["priority"] = _number(value, word)
            elif word in ("iif", "iifname"):
                fields["iif"] = _ifname(value, word)
            elif word in ("oif", "oifname"):
                fields["oif"] = _ifname(value, word)
            elif word == "fwmark":
                mark, _, mask = value.partition("/")
                fields["fwmark"] = _number(mark, "fwmark", base=0)
                if mask:
                    fields["fwmask"] = _number(mask, "fwmark mask", base=0)
            elif word == "track_group":
                continue
            else:
                raise _Unsupported(f"option '{word}' is not acted on by vrrptui")
        if "table" not in fields:
            raise _Unsupported("no table (vrrptui installs lookup rules only)")
        _one_family(fields, ("source", "destination"), inet6, "rule")
    except (_Unsupported, _Invalid, ValueError) as exc:
        r.warning(st, f"rule '{text}': {_not_installed(exc, 'rule')}")
        return None
    family = 6 if inet6 or any(isinstance(fields.get(k), ipaddress.IPv6Network)
                               for k in ("source", "destination")) else 4
    return PolicyRule(text=text, family=family, file=st.file, line=st.line, **fields)  # type: ignore[arg-type]


def read_routes(r: Reporter, st: Statement) -> tuple[StaticRoute, ...]:
    parsed = (parse_route(r, line) for line in v.block_of(r, st, f"{st.name} {{ 10.1.0.0/16 via 10.0.0.1 }}"))
    return tuple(route for route in parsed if route is not None)


def read_rules(r: Reporter, st: Statement) -> tuple[PolicyRule, ...]:
    parsed = (parse_rule(r, line) for line in v.block_of(r, st, f"{st.name} {{ from 10.1.0.0/16 table 100 }}"))
    return tuple(rule for rule in parsed if rule is not None)
