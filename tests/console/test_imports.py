"""The daemon side never needs textual: import every non-console package with textual blocked."""

from __future__ import annotations

import subprocess
import sys

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "textual" or name.startswith("textual."):
            raise ImportError(f"textual is blocked in this test (imported as {name})")
        return None
sys.meta_path.insert(0, Block())
import importlib, pkgutil
for pkg in ("vrrptui.config", "vrrptui.protocol", "vrrptui.engine", "vrrptui.net", "vrrptui.daemon",
            "vrrptui.lab", "vrrptui.observe"):
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        importlib.import_module(info.name)
assert not any(m == "textual" or m.startswith("textual.") for m in sys.modules)
print("ok")
"""


def test_core_packages_import_without_textual():
    proc = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_console_does_import_textual_so_the_blocker_works():
    code = BLOCKER.split("import importlib")[0] + "import vrrptui.console.app\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "textual is blocked" in proc.stderr
