"""`vrrptui --check CONF`: exit 0 when the config would run, 2 when not; table on stdout, diagnostics on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vrrptui.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.conf"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_passes_check(path, capsys):
    assert cli_main(["--check", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("Configuration OK: 1 instance")


def test_table_shows_what_would_run(capsys):
    assert cli_main(["--check", str(ROOT / "configs" / "postgres01.conf")]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["INSTANCE", "INTERFACE", "VRID", "VERSION", "STATE", "PRIORITY", "ADVERT", "TRANSPORT",
                                "AUTH", "VIPS", "TRACK", "NOTIFY"]
    assert lines[1].split() == ["Postgres_VIP", "ens18", "51", "v2", "IPv4", "MASTER", "255", "(owner)", "1", "s",
                                "unicast", "from", "10.0.1.62", "PASS", "10.0.2.100/8", "-", "-"]
    assert lines[2].split() == ["to", "10.0.1.63"]
    assert lines[3].split() == ["to", "10.0.1.64"]
    assert "postgres01.conf:17: warning: auth_pass is 19 bytes" in captured.err


def test_table_shows_trackers_notify_and_multicast(tmp_path, capsys):
    conf = tmp_path / "keepalived.conf"
    conf.write_text(
        'vrrp_script chk {\n  script "/bin/true"\n  weight -20\n}\n'
        "vrrp_instance VI_6 {\n  interface eth0\n  virtual_router_id 45\n  priority 191\n  advert_int 10\n"
        '  notify "/bin/notify.sh"\n  track_script {\n    chk\n  }\n  virtual_ipaddress {\n    fe80::1/64\n  }\n}\n')
    assert cli_main(["--check", str(conf)]) == 0
    out = capsys.readouterr().out
    row = out.splitlines()[1]
    for cell in ("VI_6", "eth0", "45", "v3 IPv6", "BACKUP", "191", "10 s", "multicast ff02::12", "none", "fe80::1/64",
                 "script chk weight -20", "notify: /bin/notify.sh"):
        assert cell in row


def test_broken_config_exits_2_with_the_line_on_stderr(tmp_path, capsys):
    conf = tmp_path / "keepalived.conf"
    conf.write_text("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n}\n")
    assert cli_main(["--check", str(conf)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{conf}:3: error: virtual_router_id 300 is out of range: use 1-255" in captured.err
    assert captured.err.splitlines()[-1] == f"Configuration {conf} is invalid: 1 error; vrrptui would not start"


def test_missing_file_exits_2_with_a_clear_message(tmp_path, capsys):
    missing = tmp_path / "nope.conf"
    assert cli_main(["--check", str(missing)]) == 2
    assert f"{missing}: error: cannot read configuration: No such file or directory" in capsys.readouterr().err


def test_usage_error_exits_2(capsys):
    assert cli_main(["--check"]) == 2
    assert "usage: vrrptui --check [--strict] [-i|--config-id ID] CONF" in capsys.readouterr().err


def test_installed_console_script_checks_a_config():
    exe = Path(sys.executable).parent / "vrrptui"
    assert exe.exists(), f"console script missing next to {sys.executable}: pip install -e ."
    ok = subprocess.run([str(exe), "--check", str(ROOT / "configs" / "dent2.conf")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "Configuration OK: 1 instance" in ok.stdout
    bad = subprocess.run([str(exe), "--check", str(ROOT / "configs" / "does-not-exist.conf")], capture_output=True,
                         text=True)
    assert bad.returncode == 2
    assert "cannot read configuration" in bad.stderr


def test_config_package_never_imports_textual():
    code = ("import sys, vrrptui.cli, vrrptui.config.check, vrrptui.config.parser; "
            "sys.exit(1 if any(m == 'textual' or m.startswith('textual.') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
