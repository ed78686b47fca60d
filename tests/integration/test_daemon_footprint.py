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
from net_helpers import namespaces, opened_in

from vrrptui.config.parser import parse_config
from vrrptui.daemon.routing import Routing
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf
from vrrptui.net.netlink import Netlink

pytestmark = pytest.mark.netns


def test_a_plain_master_maps_no_openssl_and_runs_one_thread(make_lab) -> None:
    lab: Lab = make_lab(routers=("r1",), clients=())
    proc = lab.start_vrrptui("r1", conf(150))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10, 0.05), lab.log(proc)[-2000:]
    maps = open(f"/proc/{proc.pid}/maps").read()
    assert "libcrypto" not in maps and "libssl" not in maps
    # it is the daemon's own process (ip netns exec execs it), whether libpython is shared or linked in
    assert "python" in os.path.basename(os.readlink(f"/proc/{proc.pid}/exe"))
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


def test_pyroute2_opens_at_start_up_only_when_routes_will_need_it(netns_ok: None, tmp_path) -> None:
    """virtual_routes go in at a MASTER transition: pyroute2 (~0.1-0.3 s to import) must be open by then."""
    plain = tmp_path / "plain.conf"
    plain.write_text(conf(150))
    routed = tmp_path / "routed.conf"
    routed.write_text(conf(150, extra="virtual_routes {\n    10.77.0.0/16 via 192.168.1.2\n}"))
    with namespaces("fp") as (ns,):
        for path, opened in ((plain, False), (routed, True)):
            with opened_in(ns, Netlink) as netlink:
                Routing(netlink, lambda line: None).add_static(parse_config(str(path), check_interfaces=False))
                assert (netlink._worker is not None) is opened
