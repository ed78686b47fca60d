"""The other top-level sections: global_defs, vrrp_script, vrrp_sync_group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vrrptui.config import keywords
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


def _fifo(name: str) -> FieldHandler:
    """`notify_fifo FIFO_NAME [username [groupname]]`: an absolute path; the owner words are not acted on."""
    def handler(r: Reporter, st: Statement) -> tuple[str, Any] | None:
        if not st.values or not st.values[0].text.startswith("/"):
            r.error(st, f"'{name}' needs the absolute path of a FIFO, e.g. `{name} /run/keepalived/notify.fifo`")
            return None
        if len(st.values) > 1:
            r.warning(st.values[1], f"the owner of '{name}' ('{' '.join(st.words()[1:])}') is not acted on by "
                                    f"vrrptui: the FIFO is created for root, mode 0600")
        return (name, st.values[0].text)
    return handler


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
                 section: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for st in block:
        handler = handlers.get(st.name)
        if handler is None:
            r.unknown_keyword(st, section)  # or "known to keepalived, not acted on" (keywords.py)
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
    "vrrp_notify_priority_changes": lambda r, st: ("vrrp_notify_priority_changes", v.boolean(r, st)),
    "vrrp_iptables": _flag("vrrp_iptables"),
    "default_interface": _word("default_interface", "default_interface eth0"),
    "notify_fifo": _fifo("notify_fifo"),
    "vrrp_notify_fifo": _fifo("vrrp_notify_fifo"),
    "vrrp_startup_delay": _seconds("vrrp_startup_delay", 0, 3600, "vrrp_startup_delay 5"),
}

def read_global_defs(r: Reporter, st: Statement, current: GlobalDefs) -> GlobalDefs:
    fields = _read_fields(r, v.block_of(r, st, "global_defs { router_id LB1 }"), GLOBAL_HANDLERS, "global_defs")
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
                          "vrrp_script")
    if "script" not in fields:
        r.warning(st, f"vrrp_script {st.values[0].text} has no `script \"COMMAND\"`: keepalived removes it (and "
                      f"the trackers naming it), and so does vrrptui; add the command to run")
        return None
    return VrrpScript(name=st.values[0].text, file=st.file, line=st.line, **fields)


# --- vrrp_sync_group -------------------------------------------------------------

SYNC_GROUP_NOTIFY = ("notify", "notify_master", "notify_backup", "notify_fault", "notify_stop")
SYNC_GROUP_TRACKERS = ("track_interface", "track_script", "track_file", "track_process")
SYNC_GROUP_KEYWORDS = ("group", *SYNC_GROUP_NOTIFY, *SYNC_GROUP_TRACKERS, "sync_group_tracking_weight",
                       "notify_priority_changes")


def read_sync_group(r: Reporter, st: Statement) -> tuple[SyncGroup, list[Statement]] | None:
    """The group, and its tracker statements (applied to every member by the parser)."""
    if len(st.values) != 1:
        r.error(st, "vrrp_sync_group needs one name, e.g. `vrrp_sync_group VG_1 {`")
        return None
    members: list[str] = []
    notify: dict[str, Any] = {}
    trackers: list[Statement] = []
    tracking_weight = False
    for line in v.block_of(r, st, "vrrp_sync_group VG_1 { group { VI_1 VI_2 } }", named=True):
        if line.name == "group":
            # Members may sit on one line (`group { VI_1 VI_2 }`) or one per line.
            for member in v.block_of(r, line, "group { VI_1 VI_2 }"):
                members.extend([member.name, *member.words()])
        elif line.name in SYNC_GROUP_NOTIFY:
            notify[line.name] = v.notify_script(r, line)
        elif line.name in SYNC_GROUP_TRACKERS:
            trackers.append(line)
        elif line.name == "sync_group_tracking_weight":
            tracking_weight = v.flag(r, line)
        elif line.name == "notify_priority_changes":
            notify["notify_priority_changes"] = v.boolean(r, line)
        elif keywords.effect("vrrp_sync_group", line.name) is not None:
            r.not_implemented(line, "vrrp_sync_group")
        elif not line.values and line.block is None:
            r.warning(line, f"'{line.name}' alone in vrrp_sync_group: keepalived ignores it (\"Unknown keyword\"); "
                            f"instance names go inside `group {{ {line.name} }}`")
        else:
            r.unknown_keyword(line, "vrrp_sync_group")
    if not members:
        r.warning(st, f"vrrp_sync_group {st.values[0].text} has no members: keepalived removes the group and runs "
                      f"its instances unsynchronised, and so does vrrptui; list them in `group {{ VI_1 VI_2 }}`")
        return None
    group = SyncGroup(name=st.values[0].text, members=tuple(members), tracking_weight=tracking_weight, file=st.file,
                      line=st.line, **notify)
    return group, trackers
