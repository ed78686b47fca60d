"""`vrrp_instance NAME { ... }`: one small handler per keyword, then keepalived's defaults.

Handlers record values into an InstanceDraft; `finish_instance` applies the
rules that need the whole block (family, version, interval range, owner).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from vrrptui.config import routes, trackfile, trackprocess
from vrrptui.config import values as v
from vrrptui.config.blocks import Statement
from vrrptui.config.draft import Handler, InstanceDraft
from vrrptui.config.model import (
    Authentication,
    default_vmac_name,
    GlobalDefs,
    IPAddress,
    TrackInterface,
    TrackScript,
    UnicastPeer,
    VirtualAddress,
    VrrpInstance,
)
from vrrptui.config.values import Reporter
from vrrptui.config.wire_rules import WIRE_HANDLERS, apply_wire_rules

SECTION = "vrrp_instance"
TRACK_WEIGHT = (-253, 253)  # keepalived.conf(5) range for track_* weights
VIP_SCOPES = {"global", "site", "link", "host", "nowhere"}
VIP_OPTIONS_WITH_VALUE = {"brd", "dev", "scope", "label"}
VIP_OPTIONS_IGNORED_WITH_VALUE = {"preferred_lft", "track_group"}  # keepalived options vrrptui does not act on
VIP_FLAGS_IGNORED = {"no_track", "home", "-nodad", "nodad", "noprefixroute", "autojoin"}
MAX_AUTH_PASS = 8  # RFC 3768 5.3.10: 8 octets of authentication data


# --- simple keywords ---------------------------------------------------------

def _small_number(digits: str) -> int | None:
    """ASCII `digits` as a number, or None when it has more than 9 significant digits: above every range
    checked here, and not worth converting (Python refuses to convert more than 4300 digits)."""
    return int(digits) if len(digits.lstrip("0")) <= 9 else None


def _shortened(word: str) -> str:
    """A value as quoted in a message: one of hundreds of characters is shortened to its start and length."""
    if len(word) <= 20:
        return word
    return f"{word[:10]}...({len(word)} {'digits' if word.isdigit() else 'characters'})"


def _state(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    token = v.single(r, st, "state BACKUP")
    if token is None:
        return
    d.state_given = True
    if token.text in ("MASTER", "BACKUP"):
        d.set(st, "initial_state", token.text)
        return
    # keepalived 2.2.7 compares case-sensitively: `state Master` -> "unknown state ..., defaulting to BACKUP".
    r.warning(token, f"unknown state '{token.text}': keepalived's keywords are case-sensitive and it starts "
                     f"this instance as BACKUP; write MASTER or BACKUP")
    d.set(st, "initial_state", "BACKUP")


def _interface(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    token = v.single(r, st, "interface eth0")
    if token is None:
        return
    d.set(st, "interface", v.interface_name(r, token, "interface"))


def _virtual_router_id(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    # keepalived 2.2.7 does not drop such an instance: "the virtual router id must be set", then its VRRP
    # process exits with a permanent CONFIG error. So this stays an error.
    token = v.single(r, st, "virtual_router_id 51")
    if token is None:
        return
    why = "keepalived 2.2.7 does not start either: \"the virtual router id must be set\""
    if not token.text.isascii() or not token.text.isdigit():
        r.error(token, f"virtual_router_id '{token.text}' is not a whole number: use 1-255, e.g. "
                       f"`virtual_router_id 51` ({why})")
        return
    vrid = _small_number(token.text)
    if vrid is None or not 1 <= vrid <= 255:
        shown = _shortened(token.text) if vrid is None else vrid
        r.error(token, f"virtual_router_id {shown} is out of range: use 1-255, e.g. `virtual_router_id 51` ({why})")
        return
    d.set(st, "vrid", vrid)


def _priority(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    d.set(st, "priority", v.integer(r, st, 1, 255, "priority 100", what="priority"))


def _advert_int(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    # The range depends on the version, known only at the end of the block.
    value = v.seconds(r, st, 0.0, 255.0, "advert_int 1")
    if value is not None:
        d.advert_int = value
        d.where["advert_int"] = st


def _version(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    d.set(st, "version", v.integer(r, st, 2, 3, "version 3", what="VRRP version"))


def _flag(name: str, value: bool = True) -> Handler:
    def handler(r: Reporter, d: InstanceDraft, st: Statement) -> None:
        v.flag(r, st)
        d.set(st, name, value)
    return handler


def _boolean(name: str) -> Handler:
    def handler(r: Reporter, d: InstanceDraft, st: Statement) -> None:
        d.set(st, name, v.boolean(r, st))
    return handler


def _seconds(name: str, low: float, high: float) -> Handler:
    def handler(r: Reporter, d: InstanceDraft, st: Statement) -> None:
        d.set(st, name, v.seconds(r, st, low, high, f"{st.name} {int(low) if low >= 1 else 1}"))
    return handler


def _count(name: str, low: int, high: int) -> Handler:
    def handler(r: Reporter, d: InstanceDraft, st: Statement) -> None:
        d.set(st, name, v.integer(r, st, low, high, f"{st.name} {max(low, 1)}"))
    return handler


def _notify(name: str) -> Handler:
    def handler(r: Reporter, d: InstanceDraft, st: Statement) -> None:
        d.set(st, name, v.notify_script(r, st))
    return handler


# The bytes the kernel refuses in an interface name (dev_valid_name): '/', ':' and its isspace(), which
# counts 0xA0 too, so a name with a UTF-8 character such as 'à' (C3 A0) is refused as well.
NOT_IN_IFNAME = frozenset(b"/: \t\n\v\f\r\xa0")


def _use_vmac(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    d.set(st, "use_vmac", True)
    if len(st.values) > 1:
        r.error(st.values[1], "use_vmac takes at most one interface name, e.g. `use_vmac vrrp.51`")
    elif st.values:
        name = st.values[0].text
        refused = [c for c in dict.fromkeys(name) if NOT_IN_IFNAME.intersection(c.encode())]
        if len(name.encode()) > v.IFNAMSIZ:
            r.error(st.values[0], f"use_vmac name '{name[:40]}' is longer than {v.IFNAMSIZ} bytes (Linux IFNAMSIZ); "
                                  f"shorten it")
        elif name in ("", ".", ".."):
            r.error(st.values[0], f"use_vmac name '{name}' cannot be an interface name: write a name such as "
                                  f"`use_vmac vrrp.51`, or `use_vmac` alone for the default vrrp.<VRID>")
        elif refused:
            listed = " ".join(repr(c) for c in refused)
            if not all(c.isascii() for c in refused):
                listed += ": the kernel takes byte 0xa0 of their UTF-8 for a space"
            r.error(st.values[0], f"use_vmac name '{name}' has characters the kernel does not allow in an interface "
                                  f"name ({listed}): no '/', ':', spaces, tabs or line breaks; write a name such as "
                                  f"`use_vmac vrrp.51`")
        else:
            d.set(st, "vmac_name", name)


def _addr_with_dev(r: Reporter, st: Statement, tokens: list, what: str, example: str,
                   ttls: dict[str, int] | None = None) -> tuple[Any, str | None] | None:
    """`ADDR [dev IF]`: the address, and the old-style device if given; with `ttls`, also
    `min_ttl N` / `max_ttl N` (a unicast peer's), stored there."""
    if not tokens:
        r.error(st, f"'{st.name}' needs an address, e.g. `{example}`")
        return None
    addr = v.address(r, tokens[0], what, example)
    dev: str | None = None
    rest = tokens[1:]
    while rest:
        option = rest[0]
        if option.text == "dev" and len(rest) >= 2:
            dev = rest[1].text
            rest = rest[2:]
        elif option.text in ("min_ttl", "max_ttl") and len(rest) >= 2 and ttls is not None:
            value = v.parse_integer(r, rest[1], 0, 255, option.text)
            if value is None:
                return None
            ttls[option.text] = value
            rest = rest[2:]
        else:
            r.error(option, f"unexpected '{option.text}' after {what}: expected `{example}`")
            return None
    return (addr, dev) if addr is not None else None


def _unicast_src_ip(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    parsed = _addr_with_dev(r, st, st.values, "unicast_src_ip", "unicast_src_ip 192.168.1.11 [dev eth0]")
    if parsed:
        d.set(st, "unicast_src_ip", parsed[0])
        d.set(st, "unicast_src_dev", parsed[1])


def _mcast_src_ip(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    token = v.single(r, st, "mcast_src_ip 192.168.1.11")
    if token is not None:
        d.set(st, "mcast_src_ip", v.address(r, token, "mcast_src_ip", "mcast_src_ip 192.168.1.11"))


def _unicast_peer(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    # Peers by address, in the order given, over all the instance's unicast_peer blocks: a repeated address is
    # found at once however many blocks there are; finish_instance makes it a tuple.
    peers: dict[IPAddress, UnicastPeer] = d.fields.setdefault("unicast_peers", {})
    d.where["unicast_peers"] = st
    for line in v.block_of(r, st, "unicast_peer { 192.168.1.12 }"):
        ttls: dict[str, int] = {}
        parsed = _addr_with_dev(r, line, [line.keyword, *line.values], "unicast peer",
                                "192.168.1.12 [dev eth0] [min_ttl 0-255] [max_ttl 0-255]", ttls)
        if parsed:
            if parsed[0] in peers:
                r.warning(line, f"unicast peer {parsed[0]} is listed twice: the second is ignored")
                continue
            if ttls.get("min_ttl", 0) > ttls.get("max_ttl", 255):
                r.error(line, f"unicast peer {parsed[0]}: min_ttl {ttls['min_ttl']} is above max_ttl "
                              f"{ttls['max_ttl']}: no advert could pass")
                continue
            peers[parsed[0]] = UnicastPeer(parsed[0], parsed[1], ttls.get("min_ttl"), ttls.get("max_ttl"))


def _authentication(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    auth_type: str | None = None
    auth_pass: str | None = None
    unknown_type = False
    for line in v.block_of(r, st, "authentication { auth_type PASS auth_pass secret }"):
        if line.name == "auth_type":
            token = v.single(r, line, "auth_type PASS")
            if token is not None and token.text in ("PASS", "AH"):
                auth_type = token.text
            elif token is not None:
                unknown_type = True
                r.warning(token, f"unknown auth_type '{token.text}': keepalived runs this instance without "
                                 f"authentication, and so does vrrptui; write `auth_type PASS` (or AH)")
        elif line.name == "auth_pass":
            token = v.single(r, line, "auth_pass secret")
            if token is not None:
                # the octets keepalived puts on the wire: the password's bytes as written (UTF-8), its first 8;
                # kept one character per octet (latin-1), as the codec and AH read it
                octets = token.text.encode()
                auth_pass = octets[:MAX_AUTH_PASS].decode("latin-1")
                if len(octets) > MAX_AUTH_PASS:
                    cut = octets[:MAX_AUTH_PASS].decode(errors="backslashreplace")
                    r.warning(token, f"auth_pass is {len(octets)} bytes; VRRPv2 carries 8, so keepalived "
                                     f"and vrrptui use '{cut}' (peers must match)")
        else:
            r.unknown_keyword(line, "authentication")
    if unknown_type:
        return
    if auth_type is None:
        r.error(st, "authentication needs `auth_type PASS` (or AH)")
        return
    if auth_pass is None:
        r.error(st, "authentication needs `auth_pass SECRET` (up to 8 characters)")
        return
    d.set(st, "authentication", Authentication(auth_type, auth_pass))  # type: ignore[arg-type]


def parse_vip(r: Reporter, line: Statement) -> VirtualAddress | None:
    """`ADDR[/LEN] [brd B] [dev IF] [scope S] [label L]`."""
    example = "192.168.1.13/24 dev eth0 label eth0:1"
    try:
        if "%" in line.keyword.text:  # a zone (`fe80::10%eth0/64`): keepalived's parser refuses it
            raise ValueError(line.keyword.text)
        iface = ipaddress.ip_interface(line.keyword.text)
    except ValueError:
        r.warning(line, f"invalid virtual address '{line.keyword.text}': keepalived skips it (\"VRRP parsed invalid "
                        f"IP\") and so does vrrptui; expected ADDR[/LEN], e.g. 192.168.1.13/24 "
                      f"or 2001:db8::ff/64")
        return None
    options: dict[str, str] = {}
    rest = list(line.values)
    while rest:
        option = rest.pop(0)
        if option.text in VIP_OPTIONS_WITH_VALUE | VIP_OPTIONS_IGNORED_WITH_VALUE:
            if not rest:
                r.error(option, f"'{option.text}' needs a value: `{example}`")
                return None
            value = rest.pop(0)
            if option.text in VIP_OPTIONS_IGNORED_WITH_VALUE:
                r.warning(option, f"virtual address option '{option.text}' is not acted on by vrrptui: ignored")
            else:
                options[option.text] = value.text
        elif option.text in VIP_FLAGS_IGNORED:
            r.warning(option, f"virtual address option '{option.text}' is not acted on by vrrptui: ignored")
        else:
            r.warning(option, f"unknown virtual address option '{option.text}': keepalived ignores it (\"Unknown "
                              f"configuration entry\") and so does vrrptui; use brd, dev, scope or label, "
                              f"e.g. `{example}`")
    if options.get("dev") == "":
        r.error(line, f"dev '' names no interface: write the interface the address goes on, e.g. `{example}`, "
                      f"or leave out `dev` for the instance's interface")
        return None
    too_long = [what for what in ("label", "dev") if len(options.get(what, "").encode()) > v.IFNAMSIZ]
    if too_long:
        what = too_long[0]
        r.error(line, f"{what} '{options[what][:40]}' is longer than {v.IFNAMSIZ} bytes, which the kernel refuses "
                      f"(the VIP would not be added): shorten it")
        return None
    scope = options.get("scope")
    number = _small_number(scope) if scope is not None and scope.isascii() and scope.isdigit() else None
    if scope is not None and scope not in VIP_SCOPES and (number is None or number > 255):  # ifa_scope is a u8
        r.error(line, f"scope '{_shortened(scope)}' is not known: use one of {', '.join(sorted(VIP_SCOPES))} "
                      f"or a number 0-255")
        return None
    if "brd" in options and options["brd"] not in ("+", "-"):
        try:
            ipaddress.IPv4Address(options["brd"])
        except ValueError:
            r.error(line, f"brd '{options['brd']}' is not an IPv4 address (or + / -)")
            return None
    return VirtualAddress(iface, dev=options.get("dev"), label=options.get("label"), brd=options.get("brd"),
                          scope=options.get("scope"), file=line.file, line=line.line)


def _vips(name: str) -> Handler:
    def handler(r: Reporter, d: InstanceDraft, st: Statement) -> None:
        vips = []
        for line in v.block_of(r, st, f"{name} {{ 192.168.1.13/24 }}"):
            vip = parse_vip(r, line)
            if vip is not None:
                vips.append(vip)
        d.extend(st, name, vips)
    return handler


def _tracker_weight(r: Reporter, line: Statement) -> tuple[int | None, bool | None] | None:
    """`NAME [weight N [reverse|noreverse]]` -> (weight, reverse: None when not said); None on error."""
    rest = list(line.values)
    weight: int | None = None
    reverse: bool | None = None
    while rest:
        option = rest.pop(0)
        if option.text == "weight" and rest:
            weight = v.parse_integer(r, rest.pop(0), *TRACK_WEIGHT, what="weight")
            if weight is None:
                return None
        elif option.text in ("reverse", "noreverse"):
            reverse = option.text == "reverse"
        else:
            r.error(option, f"unexpected '{option.text}' after '{line.name}': expected `{line.name} [weight N "
                            f"[reverse|noreverse]]` with N in {TRACK_WEIGHT[0]}..{TRACK_WEIGHT[1]}")
            return None
    return weight, reverse


def _track_interface(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    tracked = []
    for line in v.block_of(r, st, "track_interface { eth1 weight -20 }"):
        parsed = _tracker_weight(r, line)
        name = v.interface_name(r, line.keyword, "track_interface")
        if parsed is not None and name is not None:
            weight, reverse = parsed
            tracked.append(TrackInterface(name, weight or 0, bool(reverse)))
            d.track_interface_lines.append(line)
    d.extend(st, "track_interfaces", tracked)


def _track_script(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    tracked: list[TrackScript] = []
    names = {t.name for t in d.fields.get("track_scripts", ())}  # a set: a long ~SEQ block stays linear
    for line in v.block_of(r, st, "track_script { chk_service weight 20 }"):
        parsed = _tracker_weight(r, line)
        if parsed is not None:
            if line.name in names:
                r.warning(line, f"({d.name}) duplicate track_script {line.name} - ignoring")  # keepalived's words
                continue
            names.add(line.name)
            weight, reverse = parsed
            tracked.append(TrackScript(line.name, weight, reverse))
            d.track_script_lines.append(line)
    d.extend(st, "track_scripts", tracked)


def _debug(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    # `debug` alone is accepted too (keepalived 1.x); the level is informational.
    level = v.integer(r, st, 0, 4, "debug 2") if st.values else 1
    d.set(st, "debug", level)


INSTANCE_HANDLERS: dict[str, Handler] = {
    "state": _state,
    "interface": _interface,
    "virtual_router_id": _virtual_router_id,
    "priority": _priority,
    "advert_int": _advert_int,
    "version": _version,
    "nopreempt": _flag("nopreempt"),
    "preempt": _flag("nopreempt", False),
    "preempt_delay": _seconds("preempt_delay", 0.0, 1000.0),
    "unicast_src_ip": _unicast_src_ip,
    "unicast_peer": _unicast_peer,
    "mcast_src_ip": _mcast_src_ip,
    "authentication": _authentication,
    "virtual_ipaddress": _vips("virtual_ipaddresses"),
    "virtual_ipaddress_excluded": _vips("virtual_ipaddresses_excluded"),
    "track_interface": _track_interface,
    "track_script": _track_script,
    "notify": _notify("notify"),
    "notify_master": _notify("notify_master"),
    "notify_backup": _notify("notify_backup"),
    "notify_fault": _notify("notify_fault"),
    "notify_stop": _notify("notify_stop"),
    "use_vmac": _use_vmac,
    "vmac_xmit_base": _flag("vmac_xmit_base"),
    "garp_master_delay": _seconds("garp_master_delay", 0.0, 1000.0),
    "garp_master_repeat": _count("garp_master_repeat", 1, 255),
    "garp_master_refresh": _seconds("garp_master_refresh", 0.0, 86400.0),
    "garp_master_refresh_repeat": _count("garp_master_refresh_repeat", 1, 255),
    "garp_interval": _seconds("garp_interval", 0.0, 1.0),
    "gna_interval": _seconds("gna_interval", 0.0, 1.0),
    "garp_lower_prio_repeat": _count("garp_lower_prio_repeat", 0, 255),
    "garp_lower_prio_delay": _seconds("garp_lower_prio_delay", 0.0, 1000.0),
    "lower_prio_no_advert": _boolean("lower_prio_no_advert"),
    "higher_prio_send_advert": _boolean("higher_prio_send_advert"),
    "notify_master_rx_lower_pri": _notify("notify_master_rx_lower_pri"),
    "notify_priority_changes": _boolean("notify_priority_changes"),
    "debug": _debug,
    "dont_track_primary": _flag("dont_track_primary"),
    **WIRE_HANDLERS,
    "track_file": trackfile.instance_track_file,
    "track_process": trackprocess.instance_track_process,
    "virtual_routes": lambda r, d, st: d.set(st, "virtual_routes", routes.read_routes(r, st)),
    "virtual_rules": lambda r, d, st: d.set(st, "virtual_rules", routes.read_rules(r, st)),
}

def read_instance(r: Reporter, st: Statement) -> InstanceDraft | None:
    if len(st.values) != 1:
        r.error(st, "vrrp_instance needs one name, e.g. `vrrp_instance VI_1 {`")
        return None
    draft = InstanceDraft(st.values[0].text, st)
    for line in v.block_of(r, st, "vrrp_instance VI_1 { ... }", named=True):
        draft.seen.add(line.name)
        handler = INSTANCE_HANDLERS.get(line.name)
        if handler is not None:
            handler(r, draft, line)
        else:
            r.unknown_keyword(line, SECTION)
    return draft


# --- keepalived's defaults and the checks that need the whole block ----------

def _family(r: Reporter, d: InstanceDraft) -> int | None:
    """The first VIP decides; keepalived ignores VIPs of the other family, vrrptui refuses them."""
    vips = d.fields.get("virtual_ipaddresses", ())
    if vips:
        family = vips[0].family
        for vip in vips[1:]:
            if vip.family != family:
                r.error(vip, f"virtual_ipaddress mixes IPv{family} ({vips[0]}) and IPv{vip.family} ({vip}): one "
                             f"instance advertises one family; move {vip} to its own vrrp_instance "
                             f"(or to virtual_ipaddress_excluded)")
                return None
        return family
    for key in ("unicast_src_ip", "mcast_src_ip"):
        if d.fields.get(key) is not None:
            return d.fields[key].version
    peers = d.fields.get("unicast_peers", {})
    return next(iter(peers)).version if peers else 4


def _version_for(r: Reporter, d: InstanceDraft, family: int, global_defs: GlobalDefs) -> int:
    version = d.fields.get("version", global_defs.vrrp_version or 2)
    if family == 6 and version == 2:
        # VRRPv2 is IPv4 only (RFC 3768); keepalived switches the instance to v3.
        where = d.where.get("version", d.statement)
        if "version" in d.fields:
            r.warning(where, "VRRPv2 cannot carry IPv6 addresses: this instance uses version 3")
        version = 3
    return version


def _advert_int_for(r: Reporter, d: InstanceDraft, version: int) -> float:
    if d.advert_int is None:
        return 1.0
    where = d.where["advert_int"]
    value = d.advert_int
    if version == 2 and value != int(value):
        # keepalived: "VRRPv2 advertisement interval 0.4s must be an integer. rounding" (half up, at least 1 s).
        rounded = max(1, int(value + 0.5))
        r.warning(where, f"advert_int {value:g} is not a whole number of seconds, which VRRPv2 needs: keepalived "
                         f"rounds it to {rounded} s and so does vrrptui; write `advert_int {rounded}` (or "
                         f"`version 3` for 0.01-40.95 s)")
        return float(rounded)
    if version == 2 and not 1 <= value <= 255:
        r.error(where, f"advert_int {value:g} is not valid for VRRPv2: use whole seconds 1-255 "
                       f"(or `version 3` for 0.01-40.95 s)")
        return 1.0
    if version == 3 and not 0.01 <= value <= 40.95:
        r.error(where, f"advert_int {value:g} is out of range for VRRPv3: use 0.01-40.95 s "
                       f"(12-bit centiseconds, RFC 5798 5.2.7)")
        return 1.0
    if version == 3 and abs(value * 100 - round(value * 100)) > 1e-6:
        r.warning(where, f"advert_int {value:g}: VRRPv3 counts centiseconds, so keepalived and vrrptui use "
                         f"{round(value, 2):g} s; write `advert_int {round(value, 2):g}`")
    return round(value, 2) if version == 3 else float(value)


def _check_families(r: Reporter, d: InstanceDraft, family: int) -> None:
    for key in ("unicast_src_ip", "mcast_src_ip"):
        addr = d.fields.get(key)
        if addr is not None and addr.version != family:
            r.error(d.where[key], f"{key} {addr} is IPv{addr.version} but the instance is IPv{family}: "
                                  f"use an IPv{family} address of this host")
    for peer in d.fields.get("unicast_peers", {}).values():
        if peer.address.version != family:
            r.error(d.where["unicast_peers"], f"unicast peer {peer.address} is IPv{peer.address.version} but the "
                                              f"instance is IPv{family}: list IPv{family} peers only")


def _apply_preempt_rules(r: Reporter, d: InstanceDraft, state: str, priority: int) -> None:
    if d.fields.get("nopreempt"):
        if priority == 255:
            r.warning(d.where["nopreempt"], "nopreempt has no effect with priority 255 (the address owner always "
                                            "preempts); keepalived clears it")
            d.fields["nopreempt"] = False
        elif state == "MASTER":
            r.warning(d.where["nopreempt"], "nopreempt only works with `state BACKUP`; keepalived clears it for "
                                            "state MASTER: write `state BACKUP`")
            d.fields["nopreempt"] = False
    if d.fields.get("preempt_delay") and state == "MASTER":
        r.warning(d.where["preempt_delay"], "preempt_delay only works with `state BACKUP`; keepalived clears it "
                                            "for state MASTER")
        d.fields["preempt_delay"] = 0.0


GARP_DEFAULTS = {  # instance field -> global_defs field that sets its default
    "garp_master_delay": "vrrp_garp_master_delay",
    "garp_master_repeat": "vrrp_garp_master_repeat",
    "garp_master_refresh": "vrrp_garp_master_refresh",
    "garp_master_refresh_repeat": "vrrp_garp_master_refresh_repeat",
    "garp_interval": "vrrp_garp_interval",
    "gna_interval": "vrrp_gna_interval",
}


def _lower_priority_defaults(r: Reporter, d: InstanceDraft, g: GlobalDefs) -> None:
    """keepalived: unset garp_lower_prio_* take the global_defs value, which defaults to the global (not the
    instance's) garp_master_*. Strict mode turns the GARPs off, sets lower_prio_no_advert and clears
    higher_prio_send_advert ("Strict mode requires no repeat garps - resetting")."""
    strict = d.fields.get("strict_mode", g.vrrp_strict)
    chains = {
        "garp_lower_prio_repeat": (g.vrrp_garp_lower_prio_repeat, g.vrrp_garp_master_repeat, 0),
        "garp_lower_prio_delay": (g.vrrp_garp_lower_prio_delay, g.vrrp_garp_master_delay, 0.0),
        "lower_prio_no_advert": (g.vrrp_lower_prio_no_advert, None, True),
        "higher_prio_send_advert": (g.vrrp_higher_prio_send_advert, None, False),  # unset: model's default (on)
    }
    for name, (global_value, master_value, strict_value) in chains.items():
        if name in d.fields:
            if strict and name != "garp_lower_prio_delay" and d.fields[name] != strict_value:
                r.warning(d.where[name], f"({d.name}) {name} cannot be changed in strict mode - resetting")
                d.fields[name] = strict_value
        elif strict:
            d.fields[name] = strict_value
        elif global_value is not None:
            d.fields[name] = global_value
        elif master_value is not None:
            d.fields[name] = master_value


def finish_instance(r: Reporter, d: InstanceDraft, global_defs: GlobalDefs) -> VrrpInstance | None:
    """Apply keepalived's defaults and the whole-block rules; None when the instance cannot run."""
    # Only what is reported from here on is looked at, so that checking thousands of instances stays linear.
    first_new = len(r.diagnostics)
    if "virtual_router_id" not in d.seen:
        r.error(d.statement, f"vrrp_instance {d.name} has no virtual_router_id: add one (1-255), the same on "
                             f"every router of this virtual router")
    if not d.fields.get("interface"):
        if d.fields.get("unicast_peers"):  # keepalived 2.2.7 stops at start: "(VI_1) Unknown interface!"
            r.error(d.statement, f"vrrp_instance {d.name} has no interface: add `interface IFNAME`, the one its "
                                 f"unicast_src_ip is on (keepalived 2.2.7 does not start either: "
                                 f"\"({d.name}) Unknown interface!\")")
        else:
            r.error(d.statement, f"vrrp_instance {d.name} has no interface: multicast needs one (`interface eth0`)")
    own = d.fields.get("interface")
    if own and any(t.name == own for t in d.fields.get("track_interfaces", ())):
        kept = []
        for t, line in zip(d.fields["track_interfaces"], d.track_interface_lines, strict=True):
            if t.name == own:  # keepalived's words; its weight and reverse are ignored with it
                r.warning(line, f"({d.name}) Ignoring track_interface {own} since own interface (it is tracked "
                                f"already: down is a FAULT)")
            else:
                kept.append((t, line))
        d.fields["track_interfaces"] = [t for t, _ in kept]
        d.track_interface_lines = [line for _, line in kept]
    family = _family(r, d)
    if family is None:
        return None
    version = _version_for(r, d, family, global_defs)
    advert_int = _advert_int_for(r, d, version)
    if version == 3 and not d.fields.get("virtual_ipaddresses"):
        r.warning(d.statement, f"vrrp_instance {d.name} has no virtual_ipaddress: keepalived removes a VRRPv3 "
                               f"instance without one (\"No VIP specified; at least one is required\"), and so "
                               f"does vrrptui; add the address it should carry")
        return None
    _check_families(r, d, family)

    # keepalived: no priority -> 255 for state MASTER, else 100; no state -> MASTER only for the owner.
    state = d.fields.get("initial_state")
    priority = d.fields.get("priority", 255 if state == "MASTER" else 100)
    if state is None:
        state = "MASTER" if priority == 255 else "BACKUP"
    decided = apply_wire_rules(r, d, global_defs, state, priority, version, family)
    state = decided.state
    _apply_preempt_rules(r, d, state, priority)

    if d.fields.get("authentication") is not None and version == 3:
        r.warning(d.where["authentication"], "VRRPv3 has no authentication (RFC 5798): keepalived ignores this "
                                             "block; remove it or use version 2")
        d.fields["authentication"] = None

    for name, global_name in GARP_DEFAULTS.items():
        if name not in d.fields and getattr(global_defs, global_name) is not None:
            d.fields[name] = getattr(global_defs, global_name)
    _lower_priority_defaults(r, d, global_defs)

    if not decided.ok or any(x.severity == "error" for x in r.diagnostics[first_new:]) or "vrid" not in d.fields:
        return None  # the reasons are already reported
    fields: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                              for key, value in d.fields.items()}
    fields["unicast_peers"] = tuple(d.fields.get("unicast_peers", {}).values())
    fields.update(family=family, version=version, advert_int=advert_int, initial_state=state, priority=priority,
                  interface=d.fields.get("interface"))
    return VrrpInstance(name=d.name, file=d.statement.file, line=d.statement.line, **fields)


def vmac_names(r: Reporter, built: list[tuple[InstanceDraft, VrrpInstance]]
               ) -> list[tuple[InstanceDraft, VrrpInstance]]:
    """Each use_vmac instance gets a VMAC interface of its own, as keepalived gives them: a second instance that
    names one already used (keepalived: "is already using ... - ignoring name") or whose default name is taken
    (vrrp.51 on two interfaces) gets vrrp1.51, vrrp2.51, ... Sharing one, it would run on the first's macvlan
    with the first's virtual MAC."""
    owners: dict[str, VrrpInstance] = {}
    named: list[tuple[InstanceDraft, VrrpInstance]] = []
    for draft, inst in built:
        if inst.use_vmac:
            name = inst.vmac_interface
            if name in owners:
                if inst.vmac_name:
                    r.warning(draft.where.get("use_vmac", draft.statement),
                              f"VMAC interface {name} is already used by vrrp_instance {owners[name].name} "
                              f"({owners[name].file}:{owners[name].line}): keepalived ignores the name, and so does "
                              f"vrrptui; give vrrp_instance {inst.name} a VMAC name of its own with `use_vmac NAME`")
                name = next(candidate for n in range(1, len(owners) + 2)
                            if (candidate := default_vmac_name(inst.family, inst.vrid, n)) not in owners)
                inst = replace(inst, vmac_name=name)
            owners[name] = inst
        named.append((draft, inst))
    return named
