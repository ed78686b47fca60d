"""keepalived.conf -> Config: tokens, statements, per-section handlers, then cross-checks.

    parse_config("/etc/keepalived/keepalived.conf") -> Config (warnings in .warnings)

raises ConfigError carrying every diagnostic when anything would stop the
configuration from running.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from vrrptui.config import routes, trackfile, trackprocess
from vrrptui.config import values as v
from vrrptui.config.blocks import Statement, read_statements
from vrrptui.config.draft import InstanceDraft
from vrrptui.config.instance import (
    INSTANCE_HANDLERS,
    finish_instance,
    parse_vip,
    read_instance,
    vmac_names,
)
from vrrptui.config.model import (
    Config,
    ConfigError,
    Diagnostic,
    GlobalDefs,
    PolicyRule,
    StaticRoute,
    SyncGroup,
    TrackFileDef,
    TrackProcessDef,
    TrackScript,
    VirtualAddress,
    VrrpInstance,
    VrrpScript,
)
from vrrptui.config.sections import read_global_defs, read_sync_group, read_vrrp_script
from vrrptui.config.tokens import Lexer
from vrrptui.config.values import Located, Reporter

SYS_CLASS_NET = "/sys/class/net"


@dataclasses.dataclass
class _Sections:
    global_defs: GlobalDefs = dataclasses.field(default_factory=GlobalDefs)
    instances: list[InstanceDraft] = dataclasses.field(default_factory=list)
    scripts: list[VrrpScript] = dataclasses.field(default_factory=list)
    sync_groups: list[SyncGroup] = dataclasses.field(default_factory=list)
    static_addresses: list[VirtualAddress] = dataclasses.field(default_factory=list)
    static_routes: list[StaticRoute] = dataclasses.field(default_factory=list)
    static_rules: list[PolicyRule] = dataclasses.field(default_factory=list)
    track_files: dict[str, TrackFileDef] = dataclasses.field(default_factory=dict)
    track_processes: dict[str, TrackProcessDef] = dataclasses.field(default_factory=dict)
    group_trackers: dict[str, list[Statement]] = dataclasses.field(default_factory=dict)  # sync group -> trackers


def _track_file(r: Reporter, s: _Sections, st: Statement) -> None:
    definition = trackfile.read_track_file(r, st)
    if definition is not None:
        s.track_files[definition.name] = definition


def _track_process(r: Reporter, s: _Sections, st: Statement) -> None:
    definition = trackprocess.read_track_process(r, st)
    if definition is not None:
        s.track_processes[definition.name] = definition


def _static_ipaddress(r: Reporter, s: _Sections, st: Statement) -> None:
    for line in v.block_of(r, st, "static_ipaddress { 192.168.1.1/24 dev eth0 }"):
        address = parse_vip(r, line)
        if address is not None:
            s.static_addresses.append(address)


def _static_routes(r: Reporter, s: _Sections, st: Statement) -> None:
    s.static_routes.extend(routes.read_routes(r, st))


def _static_rules(r: Reporter, s: _Sections, st: Statement) -> None:
    s.static_rules.extend(routes.read_rules(r, st))


def _global_defs(r: Reporter, s: _Sections, st: Statement) -> None:
    s.global_defs = read_global_defs(r, st, s.global_defs)


def _vrrp_instance(r: Reporter, s: _Sections, st: Statement) -> None:
    draft = read_instance(r, st)
    if draft is not None:
        s.instances.append(draft)


def _vrrp_script(r: Reporter, s: _Sections, st: Statement) -> None:
    script = read_vrrp_script(r, st)
    if script is not None:
        s.scripts.append(script)


def _vrrp_sync_group(r: Reporter, s: _Sections, st: Statement) -> None:
    read = read_sync_group(r, st)
    if read is not None:
        s.sync_groups.append(read[0])
        s.group_trackers[read[0].name] = read[1]


TOP_HANDLERS: dict[str, Callable[[Reporter, _Sections, Statement], None]] = {
    "global_defs": _global_defs,
    "vrrp_instance": _vrrp_instance,
    "vrrp_script": _vrrp_script,
    "vrrp_sync_group": _vrrp_sync_group,
    "static_ipaddress": _static_ipaddress,
    "track_file": _track_file,
    "vrrp_track_file": _track_file,
    "vrrp_track_process": _track_process,
    "track_process": _track_process,
    "static_routes": _static_routes,
    "static_rules": _static_rules,
}


def host_interfaces() -> set[str]:
    try:
        return set(os.listdir(SYS_CLASS_NET))
    except OSError:
        return set()


def parse_config(path: str, *, config_id: str | None = None, check_interfaces: bool = True,
                 existing_interfaces: set[str] | None = None) -> Config:
    """Parse a keepalived.conf; raise ConfigError (with all diagnostics) if any error was found.

    `config_id` selects `@ID` lines as keepalived's `-i` does (default: the first label of the host name).
    """
    lexer = Lexer(config_id)
    try:
        tokens = lexer.tokens(path)
    except OSError as exc:
        raise ConfigError([Diagnostic(path, 0, "error", f"cannot read configuration: {exc.strerror}")]) from exc
    diagnostics = lexer.diagnostics
    r = Reporter(diagnostics)
    sections = _Sections()
    for st in read_statements(tokens, diagnostics):
        handler = TOP_HANDLERS.get(st.name)
        if handler is not None:
            handler(r, sections, st)
        else:
            r.unknown_keyword(st, "the top level")

    scripts = _unique_scripts(r, sections.scripts)
    built: list[tuple[InstanceDraft, VrrpInstance]] = []
    _add_group_trackers(r, sections)
    for draft in sections.instances:
        instance = finish_instance(r, draft, sections.global_defs)
        if instance is not None:
            instance = dataclasses.replace(
                instance,
                track_files=trackfile.resolve(r, draft.track_file_entries, sections.track_files, instance.owner),
                track_processes=trackprocess.resolve(r, draft.track_process_entries, sections.track_processes,
                                                     instance.owner))
            built.append((draft, _resolve_trackers(r, draft, instance, scripts)))
    built = _unique_instances(r, built)
    built = _sync_group_weights(r, built, sections.sync_groups, scripts)
    _check_duplicate_vrids(r, built)
    built = vmac_names(r, built)
    instances = _apply_sync_groups(r, [inst for _, inst in built], sections.sync_groups, sections.global_defs)
    if check_interfaces:
        existing = host_interfaces() if existing_interfaces is None else existing_interfaces
        _check_interfaces(r, built, existing)

    # Diagnostics in reading order: main file first, then includes, by line.
    file_order = {f: i for i, f in enumerate(lexer.files)}
    diagnostics.sort(key=lambda d: (file_order.get(d.file, -1), d.line))
    if any(d.severity == "error" for d in diagnostics):
        raise ConfigError(diagnostics)
    return Config(
        path=path,
        global_defs=sections.global_defs,
        instances=tuple(instances),
        scripts=tuple(scripts.values()),
        sync_groups=tuple(sections.sync_groups),
        warnings=tuple(diagnostics),
        files=tuple(lexer.files),
        static_addresses=tuple(sections.static_addresses),
        static_routes=tuple(sections.static_routes),
        static_rules=tuple(sections.static_rules),
        track_files=tuple(d for d in sections.track_files.values()
                          if any(t.name == d.name for inst in instances for t in inst.track_files)),
        track_processes=tuple(d for d in sections.track_processes.values()
                              if any(t.name == d.name for inst in instances for t in inst.track_processes)),
    )


def _unique_scripts(r: Reporter, scripts: list[VrrpScript]) -> dict[str, VrrpScript]:
    by_name: dict[str, VrrpScript] = {}
    for script in scripts:
        if script.name in by_name:
            first = by_name[script.name]
            r.error(script, f"vrrp_script {script.name} is defined twice (first at {first.file}:{first.line}): "
                            f"rename or remove one")
            continue
        by_name[script.name] = script
    return by_name


Built = list[tuple[InstanceDraft, VrrpInstance]]


def _unique_instances(r: Reporter, built: Built) -> Built:
    seen: dict[str, VrrpInstance] = {}
    unique = []
    for draft, inst in built:
        if inst.name in seen:
            first = seen[inst.name]
            r.warning(draft.statement, f"vrrp_instance {inst.name} is defined twice (first at {first.file}:"
                                       f"{first.line}): keepalived keeps the first and ignores this one, and so "
                                       f"does vrrptui; rename or remove one")
            continue
        seen[inst.name] = inst
        unique.append((draft, inst))
    return unique


def _resolve_trackers(r: Reporter, draft: InstanceDraft, inst: VrrpInstance,
                      scripts: dict[str, VrrpScript]) -> VrrpInstance:
    """track_script names must exist; weighted trackers do nothing on the address owner."""
    track_scripts = []
    for tracker, line in zip(inst.track_scripts, draft.track_script_lines, strict=False):
        script = scripts.get(tracker.name)
        if script is None:
            known = ", ".join(sorted(scripts)) or "none defined"
            r.warning(line, f"track_script '{tracker.name}' names no vrrp_script (known: {known}): keepalived "
                            f"ignores this tracker and so does vrrptui; define `vrrp_script {tracker.name} "
                            f"{{ script \"...\" }}` or fix the name")
            continue
        weight = tracker.weight if tracker.weight is not None else script.weight
        if inst.owner and weight:
            r.warning(line, f"tracked script '{tracker.name}' has weight {weight} but priority 255 (address owner) "
                            f"cannot change: keepalived ignores this tracker")
            continue
        track_scripts.append(tracker)
    track_interfaces = []
    for tracked, line in zip(inst.track_interfaces, draft.track_interface_lines, strict=False):
        if inst.owner and tracked.weight:
            r.warning(line, f"tracked interface '{tracked.name}' has weight {tracked.weight} but priority 255 "
                            f"(address owner) cannot change: keepalived ignores this tracker")
            continue
        track_interfaces.append(tracked)
    return dataclasses.replace(inst, track_scripts=tuple(track_scripts), track_interfaces=tuple(track_interfaces))


def _add_group_trackers(r: Reporter, sections: _Sections) -> None:
    """keepalived: a sync group's track_interface/track_script/track_file apply to every member."""
    drafts = {d.name: d for d in sections.instances}
    for group in sections.sync_groups:
        for member in group.members:
            draft = drafts.get(member)
            if draft is None:
                continue  # reported by _apply_sync_groups
            for st in sections.group_trackers.get(group.name, []):
                INSTANCE_HANDLERS[st.name](r, draft, st)


def _sync_group_weights(r: Reporter, built: Built, groups: list[SyncGroup], scripts: dict[str, VrrpScript]) -> Built:
    """In a sync group without sync_group_tracking_weight keepalived ignores weighted trackers (with a message)."""
    plain = {m: g for g in groups if not g.tracking_weight for m in g.members}
    kept: Built = []
    for draft, inst in built:
        group = plain.get(inst.name)
        if group is None:
            kept.append((draft, inst))
            continue

        def weighted(kind: str, name: str, weight: int | None, group: SyncGroup = group,
                     where: Statement = draft.statement, inst: VrrpInstance = inst) -> bool:
            if weight:
                r.warning(where, f"({inst.name}) ignoring tracked {kind} {name} with weights due to SYNC group "
                                 f"{group.name}, as keepalived does (sync_group_tracking_weight in the group keeps "
                                 f"them)")
            return bool(weight)

        def script_weight(t: TrackScript) -> int:
            script = scripts.get(t.name)
            return t.weight if t.weight is not None else (script.weight if script else 0)

        kept.append((draft, dataclasses.replace(
            inst,
            track_interfaces=tuple(t for t in inst.track_interfaces if not weighted("interface", t.name, t.weight)),
            track_scripts=tuple(t for t in inst.track_scripts if not weighted("script", t.name, script_weight(t))),
            track_files=tuple(t for t in inst.track_files if not weighted("file", t.name, t.weight)),
            track_processes=tuple(t for t in inst.track_processes if not weighted("process", t.name, t.weight)),
        )))
    return kept


def _check_duplicate_vrids(r: Reporter, built: list[tuple[InstanceDraft, VrrpInstance]]) -> None:
    """One VRID per interface and family (RFC 5798 7.3: the VRID picks the virtual MAC)."""
    multicast: dict[tuple[str | None, int, int], VrrpInstance] = {}
    unicast: dict[tuple[int, int, object], VrrpInstance] = {}
    for draft, inst in built:
        where = draft.where.get("vrid", draft.statement)
        if not inst.unicast:
            key = (inst.interface, inst.family, inst.vrid)
            other = multicast.setdefault(key, inst)
            if other is not inst:
                r.error(where, f"VRID {inst.vrid} is already used by vrrp_instance {other.name} ({other.file}:"
                               f"{other.line}) on {inst.interface} for IPv{inst.family}: give each instance its own "
                               f"virtual_router_id")
            continue
        # Unicast instances may share a VRID unless they talk to the same peer.
        for peer in inst.unicast_peers:
            other = unicast.setdefault((inst.family, inst.vrid, peer.address), inst)
            if other is not inst:
                r.error(where, f"VRID {inst.vrid} is already used by vrrp_instance {other.name} ({other.file}:"
                               f"{other.line}) towards unicast peer {peer.address}: give each instance its own "
                               f"virtual_router_id")
                break


def _apply_sync_groups(r: Reporter, instances: list[VrrpInstance], groups: list[SyncGroup],
                       global_defs: GlobalDefs) -> list[VrrpInstance]:
    """Group membership; notify_priority_changes as keepalived 2.2.7: the instance's, the group's, the global."""
    by_name = {inst.name: inst for inst in instances}
    for group in groups:
        for member in group.members:
            inst = by_name.get(member)
            if inst is None:
                r.warning(group, f"vrrp_sync_group {group.name}: vrrp_instance {member} does not exist; ignored")
            elif inst.sync_group is not None:
                r.warning(group, f"vrrp_instance {member} is already in vrrp_sync_group {inst.sync_group}; "
                                 f"an instance belongs to one group only: ignored here")
            else:
                by_name[member] = dataclasses.replace(inst, sync_group=group.name)
                if inst.notify_priority_changes is None:
                    by_name[member] = dataclasses.replace(by_name[member],
                                                          notify_priority_changes=group.notify_priority_changes)
    for name, inst in by_name.items():
        if inst.notify_priority_changes is None:
            by_name[name] = dataclasses.replace(inst, notify_priority_changes=global_defs.vrrp_notify_priority_changes)
    return [by_name[inst.name] for inst in instances]


def _check_interfaces(r: Reporter, built: list[tuple[InstanceDraft, VrrpInstance]], existing: set[str]) -> None:
    """Configs are often checked off-box, so a missing interface is a warning, not an error."""
    def missing(name: str | None, where: Located, what: str) -> None:
        if name and name not in existing:
            r.warning(where, f"{what} '{name}' does not exist on this host (fine if this config is for another "
                             f"machine)", host=True)

    for draft, inst in built:
        missing(inst.interface, draft.where.get("interface", draft.statement), "interface")
        missing(inst.unicast_src_dev, draft.where.get("unicast_src_ip", draft.statement), "interface")
        for line in draft.track_interface_lines:
            missing(line.name, line, "tracked interface")
        for vip in inst.all_vips:
            missing(vip.dev, vip, "interface")
