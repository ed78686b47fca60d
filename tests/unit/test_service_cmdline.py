"""keepalived's command line: options, refusals, `-t` exit codes, --help everywhere, status --json errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vrrptui.cli import SUBCOMMANDS
from vrrptui.cli import main as cli_main
from vrrptui.daemon import cmdline
from vrrptui.daemon.install import unit_text

ROOT = Path(__file__).resolve().parents[2]


def _an_interface() -> str:
    """A non-loopback interface of this host (keepalived refuses lo), only named in configs."""
    from vrrptui.config.parser import host_interfaces

    return next((i for i in sorted(host_interfaces()) if i != "lo"), "eth0")


CONF = f"""
vrrp_instance VI_1 {{
    state BACKUP
    interface {_an_interface()}
    virtual_router_id 51
    priority 100
    virtual_ipaddress {{
        192.168.1.100/24
    }}
}}
"""


def vrrptui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrrptui", *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_keepalived_options_have_keepalived_meanings() -> None:
    args = cmdline.parse(["-n", "-l", "-D", "-f", "/etc/k.conf", "-p", "/run/a.pid", "-r", "/run/b.pid",
                          "-i", "lb1", "-P", "-B", "-R", "-S", "local3"])
    assert (args.dont_fork, args.log_console, args.log_detail) == (True, True, True)
    assert (args.config, args.pid, args.vrrp_pid, args.config_id) == ("/etc/k.conf", "/run/a.pid", "/run/b.pid", "lb1")
    assert args.facility == 19  # local3
    long = cmdline.parse(["--dont-fork", "--log-console", "--log-detail", "--use-file=/etc/k.conf",
                          "--pid=/run/a.pid", "--vrrp_pid=/run/b.pid", "--config-id=lb1", "--log-facility=user"])
    assert (long.dont_fork, long.log_console, long.config, long.pid, long.vrrp_pid, long.config_id, long.facility) == (
        True, True, "/etc/k.conf", "/run/a.pid", "/run/b.pid", "lb1", 1)
    assert cmdline.parse([]).config == "/etc/keepalived/keepalived.conf"  # keepalived's default
    clustered = cmdline.parse(["-nlDf/etc/keepalived/other.conf"])  # getopt clusters; the value ends it
    assert (clustered.dont_fork, clustered.log_console, clustered.config) == (True, True, "/etc/keepalived/other.conf")


def test_headless_is_foreground_with_console_log_and_takes_keepalived_flags() -> None:
    args = cmdline.parse(["--headless", "-n", "-l", "-P", "x.conf"])
    assert (args.dont_fork, args.log_console, args.config) == (True, True, "x.conf")


@pytest.mark.parametrize("option", ["-C", "--check", "-X", "-V", "--dont-release-vrrp", "-I", "-d", "-T", "-a",
                                    "-x", "-s", "--namespace=ns1", "-m", "-e", "--all", "-nlV"])
def test_meaningless_options_are_refused_with_a_reason(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cmdline.parse([option])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert line.startswith("vrrptui: -") and ": " in line[len("vrrptui: "):], err


def test_config_test_log_file_is_getopts_optional_argument() -> None:
    assert cmdline.split_config_test(["-t", "-f", "k.conf"]) == (["-t", "-f", "k.conf"], None)
    assert cmdline.split_config_test(["--config-test=/tmp/r"]) == (["--config-test"], "/tmp/r")
    assert cmdline.split_config_test(["-t/tmp/r"]) == (["-t"], "/tmp/r")


def test_config_test_exit_codes_are_keepalived_s(tmp_path: Path) -> None:
    good = tmp_path / "good.conf"
    good.write_text(CONF)
    assert vrrptui("-t", "-f", str(good)).returncode == 0
    bad = tmp_path / "bad.conf"
    bad.write_text(CONF.replace("virtual_router_id 51", "virtual_router_id 300"))
    out = vrrptui("-t", "-f", str(bad))
    assert out.returncode == 5
    assert f"{bad}:5: error: virtual_router_id 300" in out.stderr
    noif = tmp_path / "noif.conf"
    noif.write_text(CONF.replace(f"interface {_an_interface()}", "interface nowhere0"))
    assert vrrptui("--config-test", "-f", str(noif)).returncode == 5  # keepalived 2.2.7 exits 5 for this too
    assert vrrptui("-t", "-f", str(tmp_path / "missing.conf")).returncode == 4
    report = tmp_path / "report.txt"
    out = vrrptui(f"--config-test={report}", str(bad))
    assert out.returncode == 5 and out.stderr == ""
    assert "virtual_router_id 300" in report.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="script security is about root running a script")
def test_config_test_exits_6_for_a_script_enable_script_security_refuses(tmp_path: Path) -> None:
    script = tmp_path / "chk.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o777)  # writable by everyone: keepalived refuses it as root
    conf = tmp_path / "sec.conf"
    conf.write_text(f"global_defs {{\n  enable_script_security\n  script_user root\n}}\n"
                    f"vrrp_script chk {{\n  script \"{script}\"\n}}\n"
                    + CONF.replace("priority 100", "priority 100\n    track_script {\n        chk\n    }"))
    out = vrrptui("-t", "-f", str(conf))
    assert out.returncode == 6, out.stderr
    assert "vrrp_script chk" in out.stderr


def test_config_test_checks_notify_scripts_as_they_run(tmp_path: Path) -> None:
    """Notify scripts (an instance's, a sync group's, with their own user) are checked like track scripts: a
    safe one passes, one enable_script_security would refuse as root exits 6 naming it."""
    script = tmp_path / "notify.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    base = "global_defs {\n  enable_script_security\n  script_user root\n}\n"
    group = "vrrp_sync_group G {\n  group {\n    VI_1\n  }\n  notify_master \"%s master\"\n}\n"
    conf = tmp_path / "notify.conf"
    conf.write_text(base + CONF.replace("priority 100", f'priority 100\n    notify_master "{script} master" root'))
    out = vrrptui("-t", "-f", str(conf))
    assert out.returncode == 0 and out.stderr == "", out.stderr
    conf.write_text(base + CONF + group % script)
    assert vrrptui("-t", "-f", str(conf)).returncode == 0
    if os.geteuid() == 0:  # writable by everyone: refused when root runs it
        script.chmod(0o777)
        out = vrrptui("-t", "-f", str(conf))
        assert out.returncode == 6 and "vrrp_sync_group G notify_master" in out.stderr, out.stderr
        conf.write_text(base + CONF.replace("priority 100", f'priority 100\n    notify "{script}"'))
        out = vrrptui("-t", "-f", str(conf))
        assert out.returncode == 6 and "vrrp_instance VI_1 notify" in out.stderr, out.stderr


def test_signum_and_version() -> None:
    assert vrrptui("--signum=RELOAD").stdout.strip() == "1"
    assert vrrptui("--signum=STOP").stdout.strip() == "15"
    assert vrrptui("-v").stdout.startswith("vrrptui ")
    assert vrrptui("--signum=JSON").returncode == 2


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--headless", "--help"], *[[s, "--help"] for s in SUBCOMMANDS],
                                  ["lab", "up", "--help"], ["status", "eth0", "--help"]])
def test_every_command_has_help(argv: list[str]) -> None:
    out = vrrptui(*argv)
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


def test_status_json_answers_json_even_when_nothing_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VRRPTUI_RUNTIME_DIR", str(tmp_path))
    assert cli_main(["status", "--json", "--pid", "99999"]) == 1
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["daemons"] == [] and "pid 99999" in doc["errors"][0]
    assert cli_main(["status", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["errors"][0].startswith("no running vrrptui found")


def test_status_filters_by_interface_and_vrid(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from vrrptui.daemon import control

    instances = [{"name": "VI_1", "interface": "eth0", "vrid": 51, "vmac": None},
                 {"name": "VI_2", "interface": "eth1", "vrid": 51, "vmac": "vrrp.52"},
                 {"name": "VI_3", "interface": "eth1", "vrid": 7, "vmac": None}]
    monkeypatch.setattr(control, "discover", lambda: [Path("/x/1.sock")])
    monkeypatch.setattr(control, "request", lambda path, msg: {"ok": True, "instances": list(instances)})

    def names(*argv: str) -> list[str]:
        assert cli_main(["status", "--json", *argv]) in (0, 1)
        doc = json.loads(capsys.readouterr().out)
        return [i["name"] for d in doc["daemons"] for i in d["instances"]]

    assert names() == ["VI_1", "VI_2", "VI_3"]
    assert names("eth1") == ["VI_2", "VI_3"]
    assert names("eth1", "7") == ["VI_3"]
    assert names("51") == ["VI_1", "VI_2"]  # a number alone is the VRID
    assert names("vrrp.52") == ["VI_2"]
    assert cli_main(["status", "--json", "eth9"]) == 1
    errors = json.loads(capsys.readouterr().out)["errors"]
    assert errors == ["no vrrp_instance on interface eth9 in any running vrrptui"]


def test_shipped_unit_is_what_install_service_writes(tmp_path: Path) -> None:
    shipped = (ROOT / "contrib" / "systemd" / "vrrptui.service").read_text()
    assert shipped == unit_text("/usr/local/bin/vrrptui", "/usr/bin/python3")
    assert "ExecStart=/usr/bin/python3 -S /usr/local/bin/vrrptui --dont-fork " in shipped
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM",
                 "After=network-online.target", "Wants=network-online.target"):
        assert line in shipped.splitlines()
    out = vrrptui("install-service", "--unit-dir", str(tmp_path), "--bin", "/opt/vrrptui/bin/vrrptui")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "vrrptui.service").read_text() == unit_text("/opt/vrrptui/bin/vrrptui")


def test_install_service_runs_the_command_with_the_interpreter_of_its_shebang_and_s(tmp_path: Path) -> None:
    """pip writes its interpreter in the command's #! line; the unit runs it as `PYTHON -S vrrptui` (bin/vrrptui:
    a restart removes a killed run's VIPs before site). A #! line it cannot use leaves the command as it is."""
    from vrrptui.daemon.install import interpreter_of

    command = tmp_path / "vrrptui"
    command.write_text(f"#!{sys.executable}\nimport sys\n")
    assert interpreter_of(str(command)) == sys.executable
    out = vrrptui("install-service", "--unit-dir", str(tmp_path), "--bin", str(command))
    assert out.returncode == 0, out.stderr
    assert f"ExecStart={sys.executable} -S {command} --dont-fork " in (tmp_path / "vrrptui.service").read_text()
    for first in ("#!/usr/bin/env python3", f"#!{sys.executable} -E", "#!/bin/sh", "#!/nonexistent/python3", ""):
        command.write_text(f"{first}\nimport sys\n")
        assert interpreter_of(str(command)) is None, first
    assert interpreter_of(str(tmp_path / "missing")) is None
