"""`vrrptui status` output and the control protocol's error handling (no network needed)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vrrptui.config.parser import parse_config
from vrrptui.daemon.control import ControlServer, discover, format_status
from vrrptui.daemon.dump import format_data, format_stats, write_private
from vrrptui.daemon.logsink import ConsoleLog
from vrrptui.daemon.runtime import Runtime
from vrrptui.engine.engine import Engine

CONF = """
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.1
    version 3
    virtual_ipaddress {
        192.168.1.100/24
    }
}
"""


@pytest.fixture
def config(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "k.conf"
    path.write_text(CONF)
    return parse_config(str(path), check_interfaces=False)


def master_status(config) -> tuple[dict, float]:  # type: ignore[no-untyped-def]
    engine = Engine(config, {"VI_1": ipaddress.ip_address("192.168.1.11")}, now=100.0)
    engine.start(100.0)
    deadline = engine.get_timer()
    assert deadline is not None
    engine.handle_timer(deadline)
    now = deadline + 2.5
    return engine.status(now)[0].to_json(), now


def test_status_text_reads_like_show_vrrp(config) -> None:  # type: ignore[no-untyped-def]
    inst, now = master_status(config)
    reply = {"pid": 42, "version": "0.1.0", "config": "/etc/keepalived/keepalived.conf", "namespace": "vrrptui-r1",
             "monotonic": now, "wall": 1_700_000_000.0, "instances": [json.loads(json.dumps(inst))]}
    text = format_status(reply)
    assert "vrrptui 0.1.0 pid 42 (netns vrrptui-r1), config /etc/keepalived/keepalived.conf" in text
    assert "VI_1: MASTER  (VRID 51, VRRPv3 IPv4, interface eth0)" in text
    assert "(2.5 s ago); last transition BACKUP -> MASTER (master down timer expired)" in text
    assert "priority         150 effective, 150 configured" in text
    assert "master           192.168.1.11 (this router) priority 150" in text
    assert "advert interval  100 ms configured" in text
    assert "VIPs             192.168.1.100/24" in text
    assert "became master 1" in text
    assert "drops            none" in text


def test_control_requests_are_checked(config) -> None:  # type: ignore[no-untyped-def]
    server = ControlServer(Runtime(config, log=ConsoleLog(open(os.devnull, "w"))), "/nonexistent/x.sock")
    assert server.handle(b"not json")["ok"] is False
    assert server.handle(b"[1]")["error"] == "bad request: a request is a JSON object"
    assert "unknown cmd" in server.handle(b'{"cmd": "reboot"}')["error"]
    # the engine is not running in this process: commands are refused with a reason, not a crash
    reply = server.handle(b'{"cmd": "demote", "instance": "VI_1"}')
    assert reply == {"ok": False, "error": "the engine is not running yet"}


def test_discover_skips_sockets_of_dead_processes(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"{dead.pid}.sock").touch()
    (tmp_path / f"{os.getpid()}.sock").touch()
    (tmp_path / "default").symlink_to(f"{os.getpid()}.sock")
    assert discover(tmp_path) == [tmp_path / f"{os.getpid()}.sock"]


def test_status_without_a_running_vrrptui_says_so(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "vrrptui", "status"], capture_output=True, text=True,
                         env={**os.environ, "VRRPTUI_RUNTIME_DIR": str(tmp_path)})
    assert out.returncode == 1
    assert f"no running vrrptui found (no control socket in {tmp_path}/)" in out.stderr


def dump_reply(config) -> dict:  # type: ignore[no-untyped-def]
    inst, now = master_status(config)
    inst = json.loads(json.dumps(inst))
    inst["counters"]["drops"]["ttl"] = 2
    inst["counters"]["drops"]["auth"] = 1
    return {"pid": 42, "version": "0.1.0", "config": "k.conf", "namespace": None, "hostname": "r1",
            "monotonic": now, "wall": 1_700_000_000.0, "instances": [inst]}


def test_sigusr1_data_dump_is_the_status_text(config) -> None:  # type: ignore[no-untyped-def]
    reply = dump_reply(config)
    text = format_data(reply)
    assert text.splitlines()[0].startswith("------< VRRP data of vrrptui pid 42 at ")
    assert format_status(reply) in text


def test_sigusr2_stats_dump_follows_keepalived_layout(config) -> None:  # type: ignore[no-untyped-def]
    lines = format_stats(dump_reply(config)).splitlines()
    i = lines.index("VRRP Instance: VI_1")
    assert lines[i:i + 17] == [
        "VRRP Instance: VI_1",
        "  Advertisements:",
        "    Received: 0",
        "    Sent: 1",
        "  Became master: 1",
        "  Released master: 0",
        "  Packet Errors:",
        "    Length: 0",
        "    TTL: 2",
        "    Invalid Type: 0",
        "    Advertisement Interval: 0",
        "    Address List: 0",
        "  Authentication Errors:",
        "    Failure: 1",
        "  Priority Zero:",
        "    Received: 0",
        "    Sent: 0",
    ]
    assert "    ttl: 2" in lines and "    unicast_source: 0" in lines


def test_dump_files_are_private_and_replace_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    path = tmp_path / "vrrptui.data"
    path.symlink_to(victim)
    write_private(path, "dump\n")
    assert victim.read_text() == "keep me\n"
    assert not path.is_symlink() and path.read_text() == "dump\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim", "vrrptui.data"]
