"""SIGHUP reloads leave no Python objects behind: the daemon's object count does not grow with them.

A runtime as the headless daemon runs it (VIP journal, control socket) in r1's namespace, in a
child process of its own so nothing of the test's counts: after warm-up reloads, the objects
the garbage collector tracks are counted by type; after RELOADS more, no type may have grown
by one object per reload, and the reloads left no unreachable objects for the collector.
"""

from __future__ import annotations

import json
import sys

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WARM_UP = 10
RELOADS = 40

CHILD = """
import collections, gc, json, sys, threading
from vrrptui.daemon.logsink import discard
from vrrptui.daemon.preflight import load_config
from vrrptui.daemon.runtime import Runtime

conf, control, warm_up, reloads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runtime = Runtime(load_config(conf), log=discard, control_path=control, vip_journal=True)
thread = threading.Thread(target=runtime.run_forever, daemon=True)
thread.start()
assert runtime.started.wait(30) and runtime.start_error is None, runtime.start_error

def reload(n):
    for _ in range(n):
        assert runtime.request_reload().result(60), "reload refused"

def counts():
    gc.collect()
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())

reload(warm_up)
before = counts()
reload(reloads)
garbage = gc.collect()  # unreachable objects the reloads left
after = counts()
held = runtime.status().result(10)[0].state
runtime.stop()
thread.join(30)
print(json.dumps({"grown": dict(after - before), "garbage": garbage, "state": held}))
"""


def test_reloads_keep_no_objects(lab: Lab) -> None:
    d = lab.node_dir("r1")
    path = d / "reload.conf"
    path.write_text(conf(150))
    child = lab.popen("r1", [sys.executable, "-c", CHILD, str(path), str(d / "reload.sock"), str(WARM_UP),
                             str(RELOADS)], stdout=-1, stderr=-1, text=True)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result["state"] == "MASTER"  # the reloads left it running, holding the VIP
    grown = {kind: n for kind, n in result["grown"].items() if n >= RELOADS}
    assert grown == {}, f"objects that grow with each reload: {grown}"
    assert result["garbage"] < RELOADS
    assert lab.vip_holders(VIP) == []  # stopped: its VIP went with it
