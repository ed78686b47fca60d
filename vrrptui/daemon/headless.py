"""`vrrptui --headless CONF`: the daemon in the foreground, logging to stdout (keepalived -n -l).

keepalived-2.x-worded log lines with its console timestamps on stdout, `-D/--log-detail`
for what keepalived prints with -D. Root, the config and its interfaces are checked before
anything touches the network (exit 2 with one clear message). SIGTERM/SIGINT resign and
exit 0; SIGHUP reloads the config; SIGUSR1 / SIGUSR2 write /tmp/vrrptui.data /
/tmp/vrrptui.stats like keepalived's dumps (daemon/dump.py). Every other keepalived option
applies too (service.py, cmdline.py).
"""

from __future__ import annotations

from vrrptui.daemon.service import main as service_main


def main(argv: list[str]) -> int:
    return service_main(["--headless", *argv])
