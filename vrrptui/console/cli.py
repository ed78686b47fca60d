"""`vrrptui CONF` and `vrrptui sniff IFACE`: arguments, checks before any UI, then the console.

This is where the console is wired to its I/O: the engine's worker process or a capture
(backends), the VIP prober, the host monitor and the drills file.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from vrrptui.console.app import VrrpConsole
from vrrptui.console.backends import Backend, RuntimeBackend, SniffBackend
from vrrptui.console.keys import KEYS_ENV, KeymapError, keys_file, load_keymap
from vrrptui.console.history_pane import DRILLS_FILE, HistoryFiles
from vrrptui.console.statefiles import StateDir, config_name
from vrrptui.daemon.drillfile import DrillFile
from vrrptui.daemon.hoststats import HostMonitor
from vrrptui.observe.session import Session

# no status from the engine's process (one every 0.1 s) for this long: the console says it is not responding
ENGINE_SILENCE = 2.0


def _parser(prog: str, what: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog)
    p.add_argument(what)
    p.add_argument("--drills", type=Path, default=None,
                   help="JSON Lines file drills are appended to (default: beside the event history, "
                        "$STATE_DIR/vrrptui/<config-name>/drills.jsonl; README: Event history and replay)")
    p.add_argument("--pcap-dir", type=Path, default=None,
                   help="where `w` writes pcap files, a directory only you may write to "
                        "(default: $STATE_DIR/vrrptui/pcaps)")
    p.add_argument("--show-secrets", action="store_true", help="show VRRPv2 passwords in clear (default: masked)")
    p.add_argument("--yes", action="store_true",
                   help="q, d and f act at once instead of saying what will happen and asking (scripted drills)")
    p.add_argument("--keys", type=Path, default=None, metavar="FILE",
                   help=f"remap keys: lines `binding_id = key`, e.g. `demote = x` (default ${KEYS_ENV}; "
                        "`?` in the console lists the ids)")
    return p


def _keymap(args: argparse.Namespace, app_class: type[VrrpConsole]) -> tuple[dict[str, str] | None, str | None]:
    """The user's keymap from --keys / $VRRPTUI_KEYS, checked; raises KeymapError."""
    found = keys_file(args.keys)
    if found is None:
        return None, None
    path, source = found
    return load_keymap(path, source, app_class.binding_scopes(), app_class._normalize_keymap), source


def _run(app: VrrpConsole, backend: Backend) -> int:
    try:
        code = app.run()
    finally:
        app.shutdown_backend()  # also after a crash in the UI: resign, remove VIPs
    if app.failure:
        print(f"vrrptui: the engine stopped: {app.failure}", file=sys.stderr)
        for line in list(getattr(backend, "lines", ()))[-20:]:
            print(f"  {line.text}", file=sys.stderr)
        return 1
    if app.return_code not in (None, 0):
        return app.return_code
    return int(code or 0)


def build_console(
    argv: list[str],
    *,
    app_class: type[VrrpConsole] = VrrpConsole,
    backend_factory: Callable[..., Backend] | None = None,
    prober_factory: Callable[..., Any] | None = None,
    host_factory: Callable[[], Any] | None = HostMonitor,
) -> VrrpConsole | int:
    """`vrrptui CONF` up to the point of running: the app, or an exit code when a check failed.

    Root, the config (file:line) and its interfaces are checked here, before any UI.
    """
    from vrrptui.daemon.preflight import PreflightError, preflight

    args = _parser("vrrptui", "config").parse_args(argv)
    try:
        keymap, keys_source = _keymap(args, app_class)
    except KeymapError as exc:
        print(f"vrrptui: {exc}", file=sys.stderr)
        return 2
    try:
        config = preflight(args.config)
    except PreflightError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for warning in config.warnings:
        if warning.severity == "warning":
            print(str(warning), file=sys.stderr)
    state = StateDir.for_config(config_name(args.config))
    session = Session(config, drill_store=DrillFile(args.drills or state.path / DRILLS_FILE),
                      wall_offset=time.time() - time.monotonic())  # events before the first snapshot are dated
    backend = (backend_factory or RuntimeBackend)(config)
    if getattr(backend, "engine", False):
        session.engine_silence_after = ENGINE_SILENCE
    if prober_factory is None:
        from vrrptui.net.prober import VipProber

        prober_factory = VipProber
    return app_class(session, backend, title=args.config,  # as given: screenshots never show a machine path
                     host=host_factory() if host_factory else None, prober_factory=prober_factory,
                     pcap_dir=args.pcap_dir, keymap=keymap, keys_source=keys_source,
                     assume_yes=args.yes, show_secrets=args.show_secrets, files=HistoryFiles(state, session))


def console_main(argv: list[str], **factories: Any) -> int:
    """`vrrptui CONF`. `factories` (app_class, backend_factory, prober_factory, host_factory) are for tests."""
    app = build_console(argv, **factories)
    if isinstance(app, int):
        return app
    return _run(app, app.backend)


def build_sniff(
    argv: list[str],
    *,
    app_class: type[VrrpConsole] = VrrpConsole,
    backend_factory: Callable[[str], Backend] | None = None,
    prober_factory: Callable[..., Any] | None = None,
    host_factory: Callable[[], Any] | None = HostMonitor,
) -> VrrpConsole | int:
    """`vrrptui sniff IFACE` up to the point of running. Listens only: no VRRP, no ARP unless --probe."""
    from vrrptui.config.parser import host_interfaces

    p = _parser("vrrptui sniff", "interface")
    p.add_argument("--probe", action="store_true",
                   help="actively ask (ARP / NS, 1/s per VIP) who answers for each VIP; default: listen only")
    args = p.parse_args(argv)
    try:
        keymap, keys_source = _keymap(args, app_class)
    except KeymapError as exc:
        print(f"vrrptui sniff: {exc}", file=sys.stderr)
        return 2
    existing = host_interfaces()
    if args.interface not in existing:
        print(f"vrrptui sniff: interface {args.interface!r} does not exist here; interfaces in this network "
              f"namespace: {', '.join(sorted(existing)) or 'none'}", file=sys.stderr)
        return 2
    if backend_factory is None:
        from vrrptui.net.sniffer import VrrpSniffer

        backend: Backend = SniffBackend(args.interface, VrrpSniffer)
        try:  # CAP_NET_RAW is all sniff needs: check it before the UI starts
            VrrpSniffer(args.interface).close()
        except PermissionError:
            print("vrrptui sniff: capturing needs CAP_NET_RAW: run it with sudo "
                  "(or setcap cap_net_raw+ep on the Python binary)", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"vrrptui sniff: cannot capture on {args.interface}: {exc}", file=sys.stderr)
            return 2
    else:
        backend = backend_factory(args.interface)
    if prober_factory is None:
        from vrrptui.net.prober import VipProber

        prober_factory = partial(VipProber, active=args.probe, netlink=None)
    state = StateDir.for_config(config_name(f"sniff-{args.interface}"))
    session = Session(None, drill_store=DrillFile(args.drills or state.path / DRILLS_FILE),
                      wall_offset=time.time() - time.monotonic())  # captures are dated: log lines, pcap
    return app_class(session, backend, title=f"sniff {args.interface}",
                     host=host_factory() if host_factory else None, prober_factory=prober_factory,
                     pcap_dir=args.pcap_dir, keymap=keymap, keys_source=keys_source,
                     assume_yes=args.yes, show_secrets=args.show_secrets, files=HistoryFiles(state, session))


def sniff_main(argv: list[str], **factories: Any) -> int:
    """`vrrptui sniff IFACE`: the console without an engine."""
    app = build_sniff(argv, **factories)
    if isinstance(app, int):
        return app
    return _run(app, app.backend)
