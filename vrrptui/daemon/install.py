"""`vrrptui install-service`: the systemd unit, as Debian's keepalived.service runs keepalived.

Writes /etc/systemd/system/vrrptui.service (Type=notify, reload by SIGHUP, SIGTERM to
stop, after network-online.target) with ExecStart naming this vrrptui, then runs
`systemctl daemon-reload` when systemd is running. ExecStart runs the command with the
interpreter of its #! line and -S (bin/vrrptui: site comes after a killed run's VIPs are
removed, so a restart by Restart=on-failure removes them ~3 ms sooner). It enables nothing: the operator runs
`systemctl enable --now vrrptui` (after stopping keepalived: the unit conflicts with it).
contrib/systemd/vrrptui.service is `vrrptui install-service --print --bin /usr/local/bin/vrrptui
--python /usr/bin/python3` (Debian's python3, `pip install` as root).
Options for the daemon go in /etc/default/vrrptui as DAEMON_ARGS, as for keepalived.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

UNIT_NAME = "vrrptui.service"
UNIT_DIR = Path("/etc/systemd/system")
UNIT = """\
[Unit]
Description=vrrptui VRRP daemon (reads keepalived.conf)
After=network-online.target
Wants=network-online.target
Conflicts=keepalived.service

[Service]
Type=notify
NotifyAccess=main
PIDFile=/run/vrrptui.pid
# DAEMON_ARGS: keepalived's options, e.g. -f /etc/keepalived/keepalived.conf -D --metrics 127.0.0.1:9165
EnvironmentFile=-/etc/default/vrrptui
ExecStart={bin} --dont-fork --pid /run/vrrptui.pid $DAEMON_ARGS
ExecReload=/bin/kill -HUP $MAINPID
KillSignal=SIGTERM
TimeoutStopSec=15
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
"""


def unit_text(binary: str, python: str | None = None) -> str:
    """The unit for the vrrptui command BINARY, run by the interpreter PYTHON with -S when given."""
    return UNIT.format(bin=f"{python} -S {binary}" if python else binary)


def interpreter_of(binary: str) -> str | None:
    """The Python interpreter in BINARY's #! line (pip writes its own there), or None: no such line, not a
    Python, or not there."""
    try:
        with open(binary, "rb") as f:
            first = f.readline(512)
    except OSError:
        return None
    words = first[2:].decode("utf-8", "replace").split() if first.startswith(b"#!/") else []
    if len(words) != 1 or not os.path.basename(words[0]).startswith("python") or not os.access(words[0], os.X_OK):
        return None  # `#!/usr/bin/env python3` (run from a checkout) or an interpreter with options: as it is
    return words[0]


def default_binary() -> str:
    found = shutil.which("vrrptui")
    if found:
        return os.path.abspath(found)
    return os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "vrrptui")


def write_unit(path: Path, text: str) -> None:
    """Replace PATH atomically; never write through a symlink."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="vrrptui install-service",
                                description="Install the systemd unit that runs vrrptui as keepalived's service does.")
    p.add_argument("--bin", default=None, help="the vrrptui executable ExecStart runs (default: this one)")
    p.add_argument("--python", default=None,
                   help="the interpreter ExecStart runs it with, with -S (default: the one in its #! line)")
    p.add_argument("--unit-dir", type=Path, default=UNIT_DIR,
                   help="where the unit goes (default /etc/systemd/system)")
    p.add_argument("--print", action="store_true", help="print the unit instead of installing it")
    args = p.parse_args(argv)
    binary = args.bin or default_binary()
    text = unit_text(binary, args.python or interpreter_of(binary))
    if args.print:
        sys.stdout.write(text)
        return 0
    path = args.unit_dir / UNIT_NAME
    try:
        write_unit(path, text)
    except OSError as exc:
        print(f"vrrptui install-service: cannot write {path}: {exc.strerror or exc} (run it as root)", file=sys.stderr)
        return 1
    print(f"installed {path}")
    if args.unit_dir != UNIT_DIR:
        return 0
    if os.path.isdir("/run/systemd/system") and shutil.which("systemctl"):
        subprocess.run(["systemctl", "daemon-reload"], check=False)
        print("next: systemctl disable --now keepalived; systemctl enable --now vrrptui")
    else:
        print("systemd is not running here: the unit is used at the next boot with systemd")
    return 0
