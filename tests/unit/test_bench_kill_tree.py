"""benchmarks/faults.py's kill -9 of a daemon and its children: no child runs a handler in between.

keepalived's VRRP child asks for SIGTERM when its parent dies (PR_SET_PDEATHSIG) and removes its
VIPs on it; killed after its parent, it sometimes did (2 of 10 here), and the kill-restart row then
measured a clean stop for keepalived. Stopped first, then killed, it never does."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "faults.py"

CHILD = r"""
import ctypes, os, signal, sys, time
def on_term(*_):
    os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600))
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG, as keepalived's children
os.write(1, b"ready\n")
while True:
    time.sleep(1)
"""
PARENT = r"""
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
time.sleep(60)
"""


def test_a_child_with_a_parent_death_signal_never_cleans_up(tmp_path):
    spec = importlib.util.spec_from_file_location("faults_bench", BENCH)
    assert spec and spec.loader
    faults = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(faults)
    for i in range(10):
        mark = tmp_path / f"cleaned-up-{i}"
        proc = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(mark)], stdout=subprocess.PIPE)
        assert proc.stdout and proc.stdout.readline() == b"ready\n"
        faults.kill_tree(proc)
        proc.stdout.close()
        time.sleep(0.05)
        assert not os.path.exists(mark), f"run {i}: the child ran its SIGTERM handler"
