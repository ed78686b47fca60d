"""`vrrptui --check CONF`: like `keepalived -t`, plus a table of what would run.

Warnings and errors go to stderr as `file:line: severity: message`; when the
configuration would run, stdout gets one table row per instance and a summary.
Exit 0: it would run. Exit 2: it would not (errors, unreadable file, usage).

`--strict` turns warnings about the file into errors (for CI pipelines); warnings about
this host (an interface that does not exist here) stay warnings. `-i/--config-id ID`
selects `@ID` lines as keepalived's `-i` does.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from typing import TextIO

from vrrptui.config.model import Config, ConfigError, Diagnostic, VrrpInstance, shown
from vrrptui.config.parser import parse_config

EXIT_OK = 0
EXIT_INVALID = 2
USAGE = "usage: vrrptui --check [--strict] [-i|--config-id ID] CONF\n"
HEADERS = ("INSTANCE", "INTERFACE", "VRID", "VERSION", "STATE", "PRIORITY", "ADVERT", "TRANSPORT", "AUTH",
           "VIPS", "TRACK", "NOTIFY")
MULTICAST_GROUP = {4: "224.0.0.18", 6: "ff02::12"}  # RFC 5798 5.1.1.2 / 5.1.2.2


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _interface_cell(inst: VrrpInstance) -> list[str]:
    lines = [inst.interface or "-"]
    if inst.use_vmac:
        lines.append(f"vmac {inst.vmac_interface} {inst.vmac_address}")
    if inst.vmac_xmit_base:
        lines.append("xmit via base")
    return lines


def _state_cell(inst: VrrpInstance) -> list[str]:
    lines: list[str] = [inst.initial_state]
    if inst.nopreempt:
        lines.append("nopreempt")
    if inst.preempt_delay:
        lines.append(f"preempt_delay {_seconds(inst.preempt_delay)}")
    return lines


def _transport_cell(inst: VrrpInstance) -> list[str]:
    if inst.unicast:
        src = inst.unicast_src_ip or "(primary address)"
        lines = [f"unicast from {src}" + (f" dev {inst.unicast_src_dev}" if inst.unicast_src_dev else "")]
        lines += [f"  to {p.address}" + (f" dev {p.dev}" if p.dev else "")
                  + (f" ttl {p.min_ttl or 0}-{255 if p.max_ttl is None else p.max_ttl}"
                     if p.min_ttl is not None or p.max_ttl is not None else "") for p in inst.unicast_peers]
        return lines
    lines = [f"multicast {MULTICAST_GROUP[inst.family]}"]
    if inst.mcast_src_ip:
        lines.append(f"  from {inst.mcast_src_ip}")
    return lines


def _vip_line(vip) -> str:
    extras = [f"{k} {getattr(vip, k)}" for k in ("dev", "label", "brd", "scope") if getattr(vip, k)]
    return " ".join([str(vip), *extras])


def _vips_cell(inst: VrrpInstance) -> list[str]:
    lines = [_vip_line(v) for v in inst.virtual_ipaddresses]
    lines += [f"{_vip_line(v)} (excluded)" for v in inst.virtual_ipaddresses_excluded]
    return lines or ["-"]


def _tracker(what: str, weight: int, reverse: bool, fault: str, reversed_fault: str = "") -> str:
    """A tracker's line: its weight (and `reverse`), or, weight 0, what puts the instance in FAULT."""
    if weight:
        return f"{what} weight {weight}" + (" reverse" if reverse else "")
    return f"{what} ({reversed_fault if reverse else fault}: FAULT)"


def _track_cell(inst: VrrpInstance, config: Config) -> list[str]:
    lines = []
    for t in inst.track_interfaces:
        lines.append(_tracker(f"interface {t.name}", t.weight, t.reverse, "down", "up"))
    for ts in inst.track_scripts:
        script = config.script(ts.name)
        weight = ts.weight if ts.weight is not None else script.weight
        reverse = ts.reverse if ts.reverse is not None else script.weight_reverse
        lines.append(_tracker(f"script {ts.name}", weight, reverse, "fail", "succeeds"))
    for tf in inst.track_files:
        lines.append(_tracker(f"file {tf.name}", tf.weight, False, "non-zero"))
    for tp in inst.track_processes:
        lines.append(f"process {tp.name}" + (f" weight {tp.weight}" if tp.weight else " (not running: FAULT)")
                     + (" reverse" if tp.reverse else ""))
    return lines or ["-"]


def _notify_cell(inst: VrrpInstance) -> list[str]:
    lines = [f"{name}: {getattr(inst, name)}" for name in
             ("notify", "notify_master", "notify_backup", "notify_fault", "notify_stop") if getattr(inst, name)]
    return lines or ["-"]


def instance_row(inst: VrrpInstance, config: Config) -> list[list[str]]:
    return [
        [inst.name] + ([f"sync group {inst.sync_group}"] if inst.sync_group else []),
        _interface_cell(inst),
        [str(inst.vrid)],
        [f"v{inst.version} IPv{inst.family}"],
        _state_cell(inst),
        [f"{inst.priority} (owner)" if inst.owner else str(inst.priority)],
        [_seconds(inst.advert_int)],
        _transport_cell(inst),
        [inst.authentication.auth_type if inst.authentication else "none"],
        _vips_cell(inst),
        _track_cell(inst, config),
        _notify_cell(inst),
    ]


def render_table(headers: Sequence[str], rows: list[list[list[str]]]) -> str:
    """A plain-text table whose cells may span several lines (names from the file shown printable)."""
    rows = [[[shown(line) for line in cell] for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in cell))
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    for row in rows:
        for k in range(max(len(cell) for cell in row)):
            parts = [(cell[k] if k < len(cell) else "").ljust(w) for cell, w in zip(row, widths, strict=False)]
            out.append("  ".join(parts).rstrip())
    return "\n".join(out)


def parse_args(argv: list[str]) -> tuple[str, str | None, bool] | None:
    """(path, config_id, strict), or None on a usage error."""
    path: str | None = None
    config_id: str | None = None
    strict = False
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--strict":
            strict = True
        elif arg in ("-i", "--config-id") and args:
            config_id = args.pop(0)
        elif arg.startswith("--config-id="):
            config_id = arg.split("=", 1)[1]
        elif arg.startswith("-") or path is not None:
            return None
        else:
            path = arg
    return (path, config_id, strict) if path is not None else None


def _strict(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> list[Diagnostic]:
    return [dataclasses.replace(d, severity="error", message=f"{d.message} [--strict]")
            if d.severity == "warning" and not d.host else d for d in diagnostics]


def _invalid(stderr: TextIO, path: str, diagnostics: list[Diagnostic]) -> int:
    for d in diagnostics:
        stderr.write(str(d) + "\n")
    errors = sum(1 for d in diagnostics if d.severity == "error")
    stderr.write(f"Configuration {shown(path)} is invalid: {errors} error{'s' if errors != 1 else ''}; "
                 f"vrrptui would not start\n")
    return EXIT_INVALID


def main(argv: list[str], stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parsed = parse_args(argv)
    if parsed is None:
        stderr.write(USAGE)
        return EXIT_INVALID
    path, config_id, strict = parsed
    try:
        config = parse_config(path, config_id=config_id)
    except ConfigError as exc:
        return _invalid(stderr, path, _strict(exc.diagnostics) if strict else exc.diagnostics)
    if strict and any(not d.host for d in config.warnings):
        return _invalid(stderr, path, _strict(config.warnings))
    for d in config.warnings:
        stderr.write(str(d) + "\n")
    if config.instances:
        stdout.write(render_table(HEADERS, [instance_row(i, config) for i in config.instances]) + "\n")
    n = len(config.instances)
    w = len(config.warnings)
    files = f", {len(config.files)} files" if len(config.files) > 1 else ""
    stdout.write(f"Configuration OK: {n} instance{'s' if n != 1 else ''}{files}, "
                 f"{w} warning{'s' if w != 1 else ''} ({shown(path)})\n")
    return EXIT_OK
