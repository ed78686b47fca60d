"""`vrrptui --headless` refuses to start, before touching the network, with one clear message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vrrptui.config.parser import host_interfaces
from vrrptui.daemon.logsink import ConsoleLog
from vrrptui.daemon.preflight import PreflightError, load_config
from vrrptui.engine.outputs import LogLine

GOOD = """
vrrp_instance VI_1 {{
    state BACKUP
    interface {iface}
    virtual_router_id 51
    priority 100
    virtual_ipaddress {{
        192.168.1.100/24
    }}
}}
"""


def headless(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrrptui", "--headless", *args], capture_output=True, text=True,
                          timeout=30)


# an interface that exists here and may carry VRRP (keepalived refuses the loopback)
IFACE = next((name for name in sorted(host_interfaces()) if name != "lo"), "eth0")


def test_bad_config_exits_2_with_file_and_line(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(GOOD.format(iface=IFACE).replace("virtual_router_id 51", "virtual_router_id 300"))
    out = headless(str(conf))
    assert out.returncode == 2
    assert re.search(rf"^{re.escape(str(conf))}:5: error: .*virtual_router_id", out.stderr, re.M), out.stderr
    assert out.stdout == ""  # nothing started


def test_missing_interface_exits_2_and_lists_the_interfaces_that_exist(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(GOOD.format(iface="eth-nowhere"))
    out = headless(str(conf))
    assert out.returncode == 2
    assert f"{conf}:2: error: vrrp_instance VI_1: interface 'eth-nowhere' does not exist on this host" in out.stderr
    assert "interfaces in this network namespace: " + ", ".join(sorted(host_interfaces())) in out.stderr
    assert out.stdout == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the check as another user")
def test_not_root_exits_2_before_reading_the_network(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(GOOD.format(iface=IFACE))
    conf.chmod(0o644)
    tmp_path.chmod(0o755)
    # the interpreter may live where `nobody` cannot read: load vrrptui as root, then drop to nobody
    code = ("import os, sys, shutil, argparse; import vrrptui.cli, vrrptui.daemon.headless, vrrptui.daemon.preflight; "
            "os.setgid(65534); os.setuid(65534); "
            f"sys.exit(vrrptui.cli.main(['--headless', {str(conf)!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out.stderr
    assert "vrrptui: must run as root" in out.stderr
    assert out.stdout == ""


def test_usage_error_exits_2() -> None:
    out = headless()
    assert out.returncode == 2
    assert "CONF" in out.stderr


def test_load_config_names_vip_dev_that_does_not_exist(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(GOOD.format(iface=IFACE).replace("192.168.1.100/24", "192.168.1.100/24 dev nope0"))
    with pytest.raises(PreflightError) as err:
        load_config(str(conf))
    assert (
        f"{conf}:8: error: vrrp_instance VI_1: virtual_ipaddress 192.168.1.100/24 dev 'nope0' "
        "does not exist on this host"
        in str(err.value)
    )


def test_console_log_stamps_like_keepalived_and_hides_detail_lines(tmp_path: Path) -> None:
    path = tmp_path / "log"
    with open(path, "w") as stream:
        log = ConsoleLog(stream)
        log(LogLine("(VI_1) Entering MASTER STATE"))
        log(LogLine("Sending gratuitous ARP on eth0 for 192.168.1.100", detail=True))
        ConsoleLog(stream, detail=True)(LogLine("detail shown", detail=True))
    lines = path.read_text().splitlines()
    stamp = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: "
    assert len(lines) == 2
    assert re.fullmatch(stamp + r"\(VI_1\) Entering MASTER STATE", lines[0])
    assert re.fullmatch(stamp + "detail shown", lines[1])
