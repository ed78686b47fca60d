"""`vrrptui -t [-f CONF]`: keepalived's config test, with keepalived's exit codes.

0 the config would run; 4 the file is missing; 5 errors in the config, or an interface it
names is absent here (keepalived 2.2.7 exits 5 then too); 6 a script refused by
enable_script_security. The report (the
`file:line: severity: message` lines, nothing when clean) goes to stderr, or with
`--config-test=LOG_FILE` to that file (created without following a symlink).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from vrrptui.config.model import Config, ConfigError, NotifyScript, SyncGroup, VrrpInstance
from vrrptui.daemon.cmdline import EXIT_CONFIG, EXIT_CONFIG_TEST, EXIT_CONFIG_TEST_SECURITY
from vrrptui.daemon.preflight import load_config_file, missing_interfaces
from vrrptui.daemon.scriptsec import ScriptRefused, prepare


def _open_report(path: str | None) -> TextIO:
    if path is None:
        return sys.stderr
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
    return os.fdopen(fd, "w")


NOTIFY_FIELDS = ("notify", "notify_master", "notify_backup", "notify_fault", "notify_stop")


def _insecure_scripts(config: Config) -> list[str]:
    """keepalived's CONFIG_SECURITY_ERROR: scripts enable_script_security would refuse (track and notify
    scripts, as each runs: the notify ones as their own `user [group]`)."""
    texts = [(s.script, s.user, s.group, f"vrrp_script {s.name}") for s in config.scripts]
    owners: list[tuple[str, VrrpInstance | SyncGroup, tuple[str, ...]]] = [
        (f"vrrp_instance {inst.name}", inst, (*NOTIFY_FIELDS, "notify_master_rx_lower_pri"))
        for inst in config.instances]
    owners += [(f"vrrp_sync_group {group.name}", group, NOTIFY_FIELDS) for group in config.sync_groups]
    for where, owner, fields in owners:
        for field in fields:
            notify: NotifyScript | None = getattr(owner, field)
            if notify is not None:
                texts.append((notify.command, notify.user, notify.group, f"{where} {field}"))
    refused = []
    for text, user, group, where in texts:
        try:
            prepare(text, user, group, config.global_defs)
        except ScriptRefused as exc:
            if exc.kind == "insecure":
                refused.append(f"{config.path}: error: {where}: {exc}")
    return refused


def config_test(path: str, *, config_id: str | None = None, log_file: str | None = None) -> int:
    try:
        report = _open_report(log_file)
    except OSError as exc:
        print(f"vrrptui: cannot write the config test report to {log_file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _run(path, config_id, report)
    finally:
        if report is not sys.stderr:
            report.close()


def _run(path: str, config_id: str | None, report: TextIO) -> int:
    if not os.path.isfile(path):
        report.write(f"{path}: error: config file not found (give one with -f CONF)\n")
        return EXIT_CONFIG
    try:
        config = load_config_file(path, config_id=config_id)
    except ConfigError as exc:
        for d in exc.diagnostics:
            report.write(f"{d}\n")
        return EXIT_CONFIG_TEST
    for warning in config.warnings:
        report.write(f"{warning}\n")
    from vrrptui.config.parser import host_interfaces

    missing = missing_interfaces(config, host_interfaces())
    if missing:
        report.write("\n".join(missing) + "\n")
        return EXIT_CONFIG_TEST
    insecure = _insecure_scripts(config)
    if insecure:
        report.write("\n".join(insecure) + "\n")
        return EXIT_CONFIG_TEST_SECURITY
    return 0
