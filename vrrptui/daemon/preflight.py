"""Checks made before anything touches the network: root, the config, the interfaces.

The headless daemon and the console both call `preflight()`; each failure is one clear
message (what, where, what to do) and exit code 2, like keepalived refusing to start.
"""

from __future__ import annotations

import os
from typing import Any

from vrrptui.config.model import Config, ConfigError
from vrrptui.config.parser import host_interfaces, parse_config

EXIT_USAGE = 2
_config_id: list[str | None] = [None]  # the daemon's -i, for every parse of its life (SIGHUP reloads too)


class PreflightError(Exception):
    """Refuse to start; str() is the message for the operator (may span lines)."""


def require_root() -> None:
    if os.geteuid() != 0:
        raise PreflightError(
            "vrrptui: must run as root: raw VRRP sockets need CAP_NET_RAW and adding VIPs needs "
            "CAP_NET_ADMIN; run it with sudo"
        )


def use_config_id(config_id: str | None) -> None:
    """keepalived's -i holds for the process: reloads select the same @ID lines as the start."""
    _config_id[0] = config_id


def config_id() -> str | None:
    return _config_id[0]


def load_config_file(path: str, *, config_id: str | None = None) -> Config:
    """parse_config without the interface check, with -i's config id when given. Raises ConfigError."""
    return parse_config(path, check_interfaces=False,
                        config_id=config_id if config_id is not None else _config_id[0])


def load_config(path: str, *, netlink: Any = None) -> Config:
    """Parse `path` and check that every interface it names exists here.

    Raises PreflightError with every error as `file:line: error: ...`.
    """
    try:
        config = load_config_file(path)
    except ConfigError as exc:
        errors = [str(d) for d in exc.diagnostics if d.severity == "error"] or [str(exc)]
        raise PreflightError("\n".join(errors)) from None
    existing = set(netlink.link_names()) if netlink is not None else host_interfaces()
    problems = missing_interfaces(config, existing)
    if problems:
        here = ", ".join(sorted(existing)) or "none"
        problems.append(
            f"interfaces in this network namespace: {here}; fix the config, or run vrrptui where those "
            f"interfaces are (e.g. `ip netns exec NS vrrptui ...`)"
        )
        raise PreflightError("\n".join(problems))
    return config


def missing_interfaces(config: Config, existing: set[str]) -> list[str]:
    """`file:line: error: ...` for every interface the config needs that this host lacks."""
    vmacs = {inst.vmac_interface for inst in config.instances if inst.use_vmac}
    problems: list[str] = []

    def need(name: str | None, file: str, line: int, what: str) -> None:
        if name and name not in existing and name not in vmacs:
            problems.append(f"{file}:{line}: error: {what} '{name}' does not exist on this host")

    for inst in config.instances:
        where = (inst.file, inst.line)
        if inst.interface is None:  # the parser refuses it; an instance built by hand may still lack one
            problems.append(f"{inst.file}:{inst.line}: error: vrrp_instance {inst.name} has no interface: "
                            f"add `interface IFNAME`")
        need(inst.interface, *where, f"vrrp_instance {inst.name}: interface")
        need(inst.unicast_src_dev, *where, f"vrrp_instance {inst.name}: unicast_src_ip dev")
        for vip in inst.all_vips:
            need(
                vip.dev,
                vip.file or inst.file,
                vip.line or inst.line,
                f"vrrp_instance {inst.name}: virtual_ipaddress {vip} dev",
            )
        for tracked in inst.track_interfaces:
            need(tracked.name, *where, f"vrrp_instance {inst.name}: track_interface")
    return problems


def preflight(path: str) -> Config:
    """Root, then the config and its interfaces. Raises PreflightError."""
    require_root()
    return load_config(path)
