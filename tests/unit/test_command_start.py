"""The `vrrptui` command pip installs is bin/vrrptui (pyproject's script-files), not the wrapper pip
generates for a [project.scripts] entry point (older pips' imports `re` first): nothing is imported
between the interpreter's own start-up and vrrptui.cli, so a daemon restarted after kill -9 removes
its stale VIPs that much sooner (daemon/stale.py, tests/unit/test_vip_journal.py). Run as the
systemd unit runs it, `PYTHON -S vrrptui`, it finds its package itself and the daemon's clean-up
comes before site (the deletion itself: tests/integration/test_crash_restart.py)."""

import os
import subprocess
import sys
import tomllib
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

import vrrptui

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


def command_module():
    """bin/vrrptui as a module (its command runs under `if __name__ == "__main__"` only)."""
    loader = SourceFileLoader("vrrptui_command", str(ROOT / "bin" / "vrrptui"))
    module = module_from_spec(spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def test_run_without_site_the_command_finds_its_package_where_site_does(tmp_path):
    package_dir = command_module().package_dir
    here = package_dir(sys.executable, sys.prefix, f"{sys.version_info[0]}.{sys.version_info[1]}", sys.platlibdir)
    assert here is not None and Path(here, "vrrptui") == Path(vrrptui.__file__).parent  # this venv (editable)

    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "vrrptui").mkdir(parents=True)
    (venv / "bin").mkdir()
    assert package_dir(f"{venv}/bin/python3", "/usr", "3.11", "lib") is None  # no pyvenv.cfg: not a venv
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert package_dir(f"{venv}/bin/python3", "/usr", "3.11", "lib") is None  # no vrrptui there
    (site / "vrrptui" / "__init__.py").write_text("")
    assert package_dir(f"{venv}/bin/python3", "/usr", "3.11", "lib") == str(site)
    assert package_dir(f"{venv}/python3", "/usr", "3.11", "lib") == str(site)  # pyvenv.cfg beside the interpreter

    (site / "vrrptui" / "__init__.py").unlink()  # an editable install: a .pth naming the source tree
    tree = tmp_path / "src"
    (tree / "vrrptui").mkdir(parents=True)
    (tree / "vrrptui" / "__init__.py").write_text("")
    (site / "__editable__.vrrptui-0.1.0.pth").write_text(f"{tree}\n")
    assert package_dir(f"{venv}/bin/python3", "/usr", "3.11", "lib") == str(tree)
    for other in ("src\n", "import sys; sys.path.append('/x')\n", f"{tmp_path}\n"):  # site's business
        (site / "__editable__.vrrptui-0.1.0.pth").write_text(other)
        assert package_dir(f"{venv}/bin/python3", "/usr", "3.11", "lib") is None, other

    prefix = tmp_path / "usr"  # Debian, no venv: pip's /usr/local/lib/pythonX.Y/dist-packages, then the distro's
    for where in (prefix / "lib/python3/dist-packages", prefix / "local/lib/python3.11/dist-packages"):
        (where / "vrrptui").mkdir(parents=True)
        (where / "vrrptui" / "__init__.py").write_text("")
        assert package_dir(f"{prefix}/bin/python3", str(prefix), "3.11", "lib") == str(where)


def imports_of(stderr: str) -> list[str]:
    return [line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")]


def test_run_without_site_the_command_runs_site_after_the_daemons_clean_up(tmp_path):
    """`PYTHON -S vrrptui ...` as the systemd unit runs it: the daemon's clean-up (vrrptui.daemon.stale) is
    imported before site and os; then site's setup, and the command works as typed (-v needs the installed
    packages: site-packages is on the path again)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    run = subprocess.run([sys.executable, "-S", str(COMMAND), "-n", "-l", "-f", str(tmp_path / "missing.conf")],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env)
    assert run.returncode != 0 and "missing.conf" in run.stdout + run.stderr
    names = imports_of(run.stderr)
    before = names[:names.index("vrrptui.daemon.stale")]
    assert "os" not in before and "site" not in before and "vrrptui.cli" in before, names
    assert names.index("site") < names.index("vrrptui.daemon.service"), names
    version = subprocess.run([sys.executable, "-S", str(COMMAND), "-v"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "vrrptui" in version.stdout + version.stderr, version
    usage = subprocess.run([sys.executable, "-S", str(COMMAND)], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "usage: vrrptui" in usage.stderr
    check = subprocess.run([sys.executable, "-S", str(COMMAND), "--check", str(ROOT / "configs" / "dent2.conf")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "VI_1" in check.stdout, check


def test_run_without_site_a_command_line_only_argparse_reads_waits_for_site(tmp_path):
    """An abbreviated option (`--metr`): only argparse reads it for sure, and its checks import prometheus_client,
    which is not on the path before site. The clean-up then comes after site, once, and the start goes on to
    the daemon's own error for the missing config: no ModuleNotFoundError."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    run = subprocess.run([sys.executable, "-S", str(COMMAND), "-n", "-l", "--metr", "127.0.0.1:9165", "-f",
                          str(tmp_path / "missing.conf")], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL, env=env)
    assert run.returncode != 0 and "missing.conf" in run.stdout + run.stderr, run
    assert "Traceback" not in run.stderr, run.stderr
    names = imports_of(run.stderr)
    assert names.index("site") < names.index("vrrptui.daemon.cmdline"), names


def test_the_lab_runs_its_daemons_as_the_systemd_unit_does(monkeypatch, tmp_path):
    from vrrptui.lab.namespaces import service_command

    monkeypatch.delenv("VRRPTUI_COMMAND", raising=False)
    assert service_command() == [sys.executable, "-S", str(COMMAND)]
    monkeypatch.setenv("VRRPTUI_COMMAND", str(tmp_path / "vrrptui"))
    assert service_command() == [str(tmp_path / "vrrptui")]  # no #! line to read: as it is
    monkeypatch.delenv("VRRPTUI_COMMAND")
    monkeypatch.setenv("VRRPTUI_LAB_TYPED", "1")  # benchmarks/faults.py --typed
    assert service_command() == [str(COMMAND)]
