"""The other top-level sections: global_defs, vrrp_script, vrrp_sync_group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vrrptui.config import values as v
from vrrptui.config.blocks import Statement
from vrrptui.config.model import GlobalDefs, SyncGroup, VrrpScript
from vrrptui.config.values import Reporter

FieldHandler = Callable[[Reporter, Statement], tuple[str, Any] | list[tuple[str, Any]] | None]


def _flag(name: str) -> FieldHandler:
    return lambda r, st: (name, v.flag(r, st))


def _word(name: str, example: str) -> FieldHandler:
    def handler(r: Reporter, st: Statement) -> tuple[str, Any] | None:
        token = v.single(r, st, example)
        return (name, token.text) if token is not None else None
    return handler


def _seconds(name: str, low: float, high: float, example: str) -> FieldHandler:
    return lambda r, st: (name, v.seconds(r, st, low, high, example))


def _integer(name: str, low: int, high: int, example: str) -> FieldHandler:
    return lambda r, st: (name, v.integer(r, st, low, high, example))


def _user_group(user_field: str, group_field: str) -> FieldHandler:
    """`script_user USER [GROUP]` / `user USER [GROUP]`."""
    def handler(r: Reporter, st: Statement) -> list[tuple[str, Any]] | None:
        if not 1 <= len(st.values) <= 2:
            r.error(st, f"'{st.name}' takes a user and an optional group, e.g. `{st.name} root root`")
            return None
        group = st.values[1].text if len(st.values) == 2 else None
        return [(user_field, st.values[0].text), (group_field, group)]
    return handler


def _read_fields(r: Reporter, block: list[Statement], handlers: dict[str, FieldHandler],
                 not_implemented: set[str], section: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for st in block:
        handler = handlers.get(st.name)
        if handler is None:
            if st.name in not_implemented:
                r.not_implemented(st, section)
            else:
                r.unknown_keyword(st, section)
            continue
        result = handler(r, st)
        for name, value in ([result] if isinstance(result, tuple) else result or []):
            if value is not None:
                fields[name] = value
    return fields


# --- global_defs --------------------------------------------------------------

GLOBAL_HANDLERS: dict[str, FieldHandler] = {
    "router_id": _word("router_id", "router_id LB1"),
    "enable_script_security": _flag("enable_script_security"),
    "script_user": _user_group("script_user", "script_group"),
    "vrrp_check_unicast_src": _flag("vrrp_check_unicast_src"),
    "vrrp_version": _integer("vrrp_version", 2, 3, "vrrp_version 3"),
    "vrrp_garp_master_delay": _seconds("vrrp_garp_master_delay", 0, 1000, "vrrp_garp_master_delay 5"),
    "vrrp_garp_master_repeat": _integer("vrrp_garp_master_repeat", 1, 255, "vrrp_garp_master_repeat 5"),
    "vrrp_garp_master_refresh": _seconds("vrrp_garp_master_refresh", 0, 86400, "vrrp_garp_master_refresh 60"),
    "vrrp_garp_master_refresh_repeat": _integer("vrrp_garp_master_refresh_repeat", 1, 255,
                                                "vrrp_garp_master_refresh_repeat 1"),
    "vrrp_garp_interval": _seconds("vrrp_garp_interval", 0, 1, "vrrp_garp_interval 0.001"),
    "vrrp_gna_interval": _seconds("vrrp_gna_interval", 0, 1, "vrrp_gna_interval 0.001"),
    "vrrp_garp_lower_prio_repeat": _integer("vrrp_garp_lower_prio_repeat", 0, 255, "vrrp_garp_lower_prio_repeat 1"),
    "vrrp_garp_lower_prio_delay": _seconds("vrrp_garp_lower_prio_delay", 0, 1000, "vrrp_garp_lower_prio_delay 5"),
    "vrrp_lower_prio_no_advert": lambda r, st: ("vrrp_lower_prio_no_advert", v.boolean(r, st)),
    "vrrp_higher_prio_send_advert": lambda r, st: ("vrrp_higher_prio_send_advert", v.boolean(r, st)),
    "vrrp_skip_check_adv_addr": _flag("vrrp_skip_check_adv_addr"),
    "vrrp_strict": _flag("vrrp_strict"),
    "vrrp_iptables": _flag("vrrp_iptables"),
}

GLOBAL_NOT_IMPLEMENTED = {
    "notification_email", "notification_email_from", "smtp_server", "smtp_connect_timeout", "smtp_helo_name",
    "enable_traps", "enable_snmp_vrrp", "enable_snmp_checker", "enable_snmp_rfc", "enable_snmp_rfcv2",
    "enable_snmp_rfcv3", "lvs_id", "lvs_sync_daemon", "max_auto_priority", "vrrp_mcast_group4",
    "vrrp_mcast_group6", "vrrp_priority", "vrrp_no_swap", "vrrp_rt_priority", "checker_priority",
    "dynamic_interfaces", "vrrp_notify_fifo", "vrrp_notify_fifo_script", "notify_fifo", "notify_fifo_script",
    "script_security", "process_names", "vrrp_startup_delay", "vrrp_min_garp", "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs", "nftables", "nftables_priority", "vrrp_ipsets", "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier", "default_interface", "linkbeat_use_polling", "vrrp_dont_track_primary",
    "vrrp_garp_extra_if", "vrrp_own_all_if",
}


def read_global_defs(r: Reporter, st: Statement, current: GlobalDefs) -> GlobalDefs:
    fields = _read_fields(r, v.block_of(r, st, "global_defs { router_id LB1 }"), GLOBAL_HANDLERS,
                          GLOBAL_NOT_IMPLEMENTED, "global_defs")
    # Several global_defs blocks merge, as in keepalived.
    return GlobalDefs(**{**{f: getattr(current, f) for f in current.__slots__}, **fields})


# --- vrrp_script ----------------------------------------------------------------

def _script_weight(r: Reporter, st: Statement) -> list[tuple[str, Any]] | None:
    if not st.values or len(st.values) > 2 or (len(st.values) == 2 and st.values[1].text != "reverse"):
        r.error(st, "weight takes a number and an optional `reverse`, e.g. `weight -20` (-253..253)")
        return None
    weight = v.parse_integer(r, st.values[0], -253, 253, "weight")
    return [("weight", weight), ("weight_reverse", len(st.values) == 2)] if weight is not None else None


SCRIPT_HANDLERS: dict[str, FieldHandler] = {
    "script": lambda r, st: ("script", v.command(r, st)),
    "interval": _seconds("interval", 0.001, 86400, "interval 2"),
    "timeout": _seconds("timeout", 0.001, 86400, "timeout 2"),
    "rise": _integer("rise", 1, 1_000_000, "rise 2"),
    "fall": _integer("fall", 1, 1_000_000, "fall 2"),
    "weight": _script_weight,
    "user": _user_group("user", "group"),
    "init_fail": _flag("init_fail"),
}


def read_vrrp_script(r: Reporter, st: Statement) -> VrrpScript | None:
    if len(st.values) != 1:
        r.error(st, "vrrp_script needs one name, e.g. `vrrp_script chk_service {`")
        return None
    fields = _read_fields(r, v.block_of(r, st, "vrrp_script chk { script \"/bin/true\" }", named=True), SCRIPT_HANDLERS,
                          set(), "vrrp_script")
    if "script" not in fields:
        r.error(st, f"vrrp_script {st.values[0].text} has no `script \"COMMAND\"`: add the command to run")
        return None
    return VrrpScript(name=st.values[0].text, file=st.file, line=st.line, **fields)


# --- vrrp_sync_group -------------------------------------------------------------

def read_sync_group(r: Reporter, st: Statement) -> SyncGroup | None:
    if len(st.values) != 1:
        r.error(st, "vrrp_sync_group needs one name, e.g. `vrrp_sync_group VG_1 {`")
        return None
    members: list[str] = []
    notify: dict[str, Any] = {}
    for line in v.block_of(r, st, "vrrp_sync_group VG_1 { group { VI_1 VI_2 } }", named=True):
        if line.name == "group":
            # Members may sit on one line (`group { VI_1 VI_2 }`) or one per line.
            for member in v.block_of(r, line, "group { VI_1 VI_2 }"):
                members.extend([member.name, *member.words()])
        elif line.name in ("notify", "notify_master", "notify_backup", "notify_fault", "notify_stop"):
            notify[line.name] = v.command(r, line)
        elif line.name in ("smtp_alert", "global_tracking", "sync_group_tracking_weight", "track_interface",
                           "track_script", "track_file", "track_bfd", "notify_priority_changes"):
            r.not_implemented(line, "vrrp_sync_group")
        else:
            r.unknown_keyword(line, "vrrp_sync_group")
    if not members:
        r.error(st, f"vrrp_sync_group {st.values[0].text} has no members: add `group {{ VI_1 VI_2 }}`")
        return None
    return SyncGroup(name=st.values[0].text, members=tuple(members), file=st.file, line=st.line, **notify)
