"""The `vrrptui` command pip installs is bin/vrrptui (pyproject's script-files), not the wrapper pip
generates for a [project.scripts] entry point (older pips' imports `re` first): nothing is imported
between the interpreter's own start-up and vrrptui.cli, so a daemon restarted after kill -9 removes
its stale VIPs that much sooner (daemon/stale.py, tests/unit/test_vip_journal.py)."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMAND = Path(sys.executable).parent / "vrrptui"


def test_the_installed_command_is_bin_vrrptui():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "scripts" not in project["project"]
    assert project["tool"]["setuptools"]["script-files"] == ["bin/vrrptui"]
    shebang, body = COMMAND.read_text().split("\n", 1)  # pip puts its interpreter's path in the first line
    assert shebang == f"#!{sys.executable}" or shebang.startswith("#!" + str(COMMAND.parent))
    assert body == (ROOT / "bin" / "vrrptui").read_text().split("\n", 1)[1]


def test_nothing_is_imported_between_the_interpreters_start_up_and_vrrptui_cli():
    run = subprocess.run([str(COMMAND)], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                         env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert run.returncode == 2 and "usage: vrrptui" in run.stderr
    names = [line.rsplit("|", 1)[1][1:] for line in run.stderr.splitlines() if line.startswith("import time:")]
    top = [name for name in names if not name.startswith(" ")]  # finished top-level imports, in order
    assert top[top.index("site") + 1:top.index("vrrptui.cli")] == [], top


def test_the_lab_runs_the_command_vrrptui_command_names(monkeypatch, tmp_path):
    """benchmarks/faults.py --vrrptui-command: the lab starts a `pip install .` elsewhere instead of this venv's."""
    from vrrptui.lab.namespaces import vrrptui_command

    monkeypatch.delenv("VRRPTUI_COMMAND", raising=False)
    assert vrrptui_command() == [str(COMMAND)]
    monkeypatch.setenv("VRRPTUI_COMMAND", str(tmp_path / "bin" / "vrrptui"))
    assert vrrptui_command() == [str(tmp_path / "bin" / "vrrptui")]
