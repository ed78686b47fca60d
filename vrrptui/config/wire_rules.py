"""keepalived's rules that change what reaches the wire: strict mode, accept mode, AH, loopback.

The keywords (`strict_mode`, `accept`, `no_accept`) are read by the handlers below;
`apply_wire_rules` runs once the instance's state, priority and version are known,
in the order keepalived 2.2.7's vrrp_complete_instance applies them, and reports
what keepalived reports (its own wording quoted) at the line that causes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from vrrptui.config import values as v
from vrrptui.config.blocks import Statement
from vrrptui.config.draft import Handler, InstanceDraft
from vrrptui.config.model import GlobalDefs
from vrrptui.config.values import Reporter

LOOPBACK = "lo"
TRUE_WORDS = {"true", "yes", "on"}
FALSE_WORDS = {"false", "no", "off"}


def strict_mode(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    """`strict_mode [true|false|yes|no|on|off]`: the instance's own vrrp_strict."""
    if len(st.values) > 1:
        r.error(st.values[1], "strict_mode takes at most one value: `strict_mode` or `strict_mode off`")
        return
    value = True
    if st.values:
        word = st.values[0].text.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            r.warning(st.values[0], f"invalid value '{st.values[0].text}' for strict_mode: keepalived ignores the "
                                    f"line; use true/false, yes/no or on/off")
            return
        value = word in TRUE_WORDS
    d.set(st, "strict_mode", value)


def accept(value: bool) -> Handler:
    def handler(r: Reporter, d: InstanceDraft, st: Statement) -> None:
        v.flag(r, st)
        d.set(st, "accept", value)
    return handler


WIRE_HANDLERS: dict[str, Handler] = {"strict_mode": strict_mode, "accept": accept(True), "no_accept": accept(False)}


@dataclass
class Decided:
    """What the rules may change: the initial state, and whether the instance can run."""

    state: str
    ok: bool = True


def apply_wire_rules(r: Reporter, d: InstanceDraft, global_defs: GlobalDefs, state: str, priority: int,
                     version: int, family: int) -> Decided:
    """keepalived's strict-mode, authentication and accept-mode rules, in its order.

    Sets d.fields strict_mode and accept (keepalived's defaults), may drop the
    authentication and preempt_delay, and returns the initial state to use.
    """
    fields, where, name, here = d.fields, d.where, d.name, d.statement
    decided = Decided(state)
    if fields.get("interface") == LOOPBACK:
        r.error(where["interface"], f"({name}) cannot use a loopback interface (lo) for vrrp: keepalived refuses "
                                    f"the configuration and does not start; use the interface that faces the "
                                    f"other routers")
        decided.ok = False
    strict = fields.get("strict_mode", global_defs.vrrp_strict)
    fields["strict_mode"] = strict
    strict_at = where.get("strict_mode", here)
    if strict and not fields.get("virtual_ipaddresses"):
        r.error(strict_at, f"({name}) No VIP specified; at least one is required (strict mode): keepalived does not "
                           f"start; add a virtual_ipaddress block or turn strict mode off")
        decided.ok = False
    elif not fields.get("virtual_ipaddresses"):  # VRRPv2 (a VRRPv3 instance without one is removed)
        r.warning(here, f"({name}) No VIP specified; at least one is sensible: keepalived runs such an instance, "
                        f"and so does vrrptui (its adverts carry no address, as a master it holds nothing); add "
                        f"a virtual_ipaddress block")
    if strict and d.state_given and (state == "MASTER") != (priority == 255):
        decided.state = "MASTER" if priority == 255 else "BACKUP"
        r.warning(where.get("initial_state", strict_at),
                  f"({name}) State MASTER must match being address owner (strict mode): keepalived starts this "
                  f"instance as {decided.state}")
    _authentication(r, d, strict, version, family, priority, decided)
    if strict and fields.get("unicast_peers"):
        r.warning(where["unicast_peers"], f"({name}) unicast peers are not VRRP as RFC 5798 defines it: keepalived "
                                          f"2.2.7 runs them in strict mode, later keepalived versions refuse this "
                                          f"instance (\"Unicast peers are not supported in strict mode\")")
    vips = fields.get("virtual_ipaddresses", ())
    if strict and family == 6 and vips and not fields.get("unicast_peers") and not vips[0].address.is_link_local:
        r.warning(vips[0], f"({name}) the first IPv6 VIP address must be link local (strict mode, RFC 5798 "
                           f"5.2.9): keepalived runs the instance anyway; list a fe80:: address first")
    if strict and fields.get("preempt_delay") and decided.state != "MASTER":
        r.warning(where["preempt_delay"], f"({name}) preempt_delay is incompatible with strict mode - resetting "
                                          f"(as keepalived: no delay)")
        fields["preempt_delay"] = 0.0
    _accept_mode(r, d, strict, version, priority)
    return decided


def _authentication(r: Reporter, d: InstanceDraft, strict: bool, version: int, family: int, priority: int,
                    decided: Decided) -> None:
    fields, where, name = d.fields, d.where, d.name
    auth = fields.get("authentication")
    if auth is None:
        return
    if strict:
        r.warning(where["authentication"], f"({name}) Strict mode does not support authentication. Ignoring. "
                                           f"(keepalived sends no authentication; peers must not expect it)")
        fields["authentication"] = None
    elif auth.auth_type == "AH" and version == 2 and family == 4 and decided.state == "MASTER" and priority != 255:
        r.warning(where.get("initial_state", where["authentication"]),
                  f"({name}) Initial state master is incompatible with AH authentication - clearing: keepalived "
                  f"starts as BACKUP to learn the AH sequence number from a running master first")
        decided.state = "BACKUP"


def _accept_mode(r: Reporter, d: InstanceDraft, strict: bool, version: int, priority: int) -> None:
    """keepalived: accept defaults to on for an address owner, else to `not strict`; a VRRPv2 non-owner in strict
    mode never accepts (RFC 3768 has no Accept_Mode)."""
    fields, where, name = d.fields, d.where, d.name
    accept = fields.get("accept")
    if accept is None:
        accept = priority == 255 or not strict
    elif accept and priority != 255 and strict and version == 2:
        r.warning(where["accept"], f"({name}) warning - accept mode for VRRP version 2 does not comply with "
                                   f"RFC3768 - resetting: packets to the VIPs are dropped while master")
        accept = False
    fields["accept"] = accept
