"""What the command line prints when something is missing: a file without a line, JSON when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vrrptui.daemon.preflight import PreflightError, load_config

CONF = Path(__file__).parents[2] / "configs" / "dent2.conf"


def vrrptui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrrptui", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_missing_config_names_the_file_without_a_line_zero(tmp_path: Path) -> None:
    missing = tmp_path / "nope.conf"
    with pytest.raises(PreflightError) as e:
        load_config(str(missing))
    assert str(e.value) == f"{missing}: error: cannot read configuration: No such file or directory"


def test_status_json_for_a_pid_without_a_socket_answers_in_json(tmp_path: Path) -> None:
    out = vrrptui("status", "--json", "--pid", "99999", env={"VRRPTUI_RUNTIME_DIR": str(tmp_path)})
    assert out.returncode == 1
    assert json.loads(out.stdout) == {"daemons": [], "errors": [
        f"no control socket for pid 99999 ({tmp_path}/99999.sock does not exist); is it a running vrrptui?"]}


def test_check_with_keys_checks_the_config_and_the_keys_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("demote = x\n")
    out = vrrptui("--check", str(CONF), "--keys", str(keys))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-2:] == [f"Configuration OK: 1 instance, 1 warning ({CONF})", f"Keys OK ({keys})"]
    keys.write_text("demote = ctrl+shift+alt+zz\nfailover = q\n")
    out = vrrptui("--check", str(CONF), f"--keys={keys}")
    assert out.returncode == 1
    assert out.stderr.splitlines()[-2:] == [
        f"vrrptui: {keys}:1: ctrl+shift+alt+zz: 'zz' is not a key (keys: a-z, 0-9, f1-f24, space, question_mark, ...)",
        f"{keys}:2: q would do both failover and quit; give one of them another key",
    ]
