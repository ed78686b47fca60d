"""What a plain headless daemon loads: no OpenSSL (ssl, hashlib's libcrypto), no pyroute2 thread.

A config without VMACs, routes or AH needs none of them; loading them cost ~15 MB of RSS per
daemon. The witness is the running process in its namespace: the shared objects it mapped
(/proc/PID/maps) and its threads (/proc/PID/task), once it holds its VIP.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns


def test_a_plain_master_maps_no_openssl_and_runs_one_thread(make_lab) -> None:
    lab: Lab = make_lab(routers=("r1",), clients=())
    proc = lab.start_vrrptui("r1", conf(150))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10, 0.05), lab.log(proc)[-2000:]
    maps = open(f"/proc/{proc.pid}/maps").read()
    assert "libcrypto" not in maps and "libssl" not in maps
    assert "libpython" in maps  # it is the daemon's own process (ip netns exec execs it)
    threads = [open(f"/proc/{proc.pid}/task/{tid}/comm").read().strip() for tid in os.listdir(f"/proc/{proc.pid}/task")]
    assert len(threads) == 1, threads


def test_import_asyncio_leaves_ssl_importable() -> None:
    code = (
        "import sys\n"
        "from vrrptui.daemon.notls import import_asyncio\n"
        "import_asyncio()\n"
        "assert 'asyncio' in sys.modules and 'ssl' not in sys.modules\n"
        "import ssl, asyncio.sslproto\n"
        "print(ssl.OPENSSL_VERSION_NUMBER > 0, asyncio.sslproto.ssl)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "None"]  # ssl works for whoever needs it; asyncio's TLS stays off
