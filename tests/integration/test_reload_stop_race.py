"""A SIGHUP and a SIGTERM close together (`systemctl reload` then `stop`): the stop wins.

The new configuration is parsed in a child process while the loop runs; a stop that comes meanwhile
must not be followed by the reload's apply: no instance started, no timer armed, no VIP added after
the resign. SIGHUPs in a row apply one after the other; those that come while a reload runs are
served by a single next one.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from test_daemon_failover import WAIT, status, wait_holders, wait_state

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

VIP2 = "192.168.1.101"
R1 = "192.168.1.11"


def test_a_stop_while_a_reload_is_parsed_applies_nothing_after_the_resign(lab: Lab) -> None:
    # a notify script that takes a second (mail, a log shipper): the stop waits for it (notify drain)
    first = conf(150, extra='notify_stop "/bin/sleep 1"')
    p1 = lab.start_vrrptui("r1", first, ["--log-detail"])
    assert wait_holders(lab, ["r1"])
    conf_path = Path(p1.conf_path)  # type: ignore[attr-defined]
    conf_path.write_text(first + conf(150, vrid=52, name="VI_2", state="MASTER").replace(f"{VIP}/24", f"{VIP2}/24"))
    cap = lab.capture()
    p1.send_signal(signal.SIGHUP)
    time.sleep(0.01)  # the parse has begun in its child process (tens of ms); the stop comes meanwhile
    assert lab.stop(p1, signal.SIGTERM) == 0, lab.log(p1)
    time.sleep(0.3)
    assert lab.vip_holders(VIP) == [] and lab.vip_holders(VIP2) == [], lab.log(p1)
    ours = [a for a in cap.adverts() if a.src == R1]
    resign = next(i for i, a in enumerate(ours) if a.priority == 0)
    assert [(a.vrid, a.priority) for a in ours[resign:]] == [(51, 0)], [a.line for a in ours]
    assert "Reload complete" not in lab.log(p1) and "Reload abandoned: stopping" in lab.log(p1)


def test_sighups_in_a_row_reload_one_after_the_other(lab: Lab) -> None:
    """Each reload parses and applies before the next begins: the second is worked out against what the first
    put in force, never against the configuration both started from. The second and third SIGHUPs come while
    the first reload's file is parsed (its child process takes tens of ms): one more reload serves both."""
    first = conf(150)
    p1 = lab.start_vrrptui("r1", first, ["--log-detail"])
    assert wait_holders(lab, ["r1"])
    conf_path = Path(p1.conf_path)  # type: ignore[attr-defined]
    conf_path.write_text(first + conf(150, vrid=52, name="VI_2").replace(f"{VIP}/24", f"{VIP2}/24"))
    for _ in range(3):
        p1.send_signal(signal.SIGHUP)
        time.sleep(0.005)
    assert lab.wait_for(lambda: lab.log(p1).count("Reload complete") == 2, WAIT), lab.log(p1)
    time.sleep(0.5)  # a third reload would have begun by now
    steps = [line.split(": ", 1)[1] for line in lab.log(p1).splitlines()
             if line.endswith(("Reloading", "Reload complete"))]
    assert steps == ["Reloading", "Reload complete"] * 2, steps
    assert wait_state(lab, "r1", p1, "MASTER", name="VI_2")
    assert status(lab, "r1", p1)["VI_1"]["state"] == "MASTER"
    assert lab.vip_holders(VIP) == ["r1"] and lab.vip_holders(VIP2) == ["r1"]
    assert lab.stop(p1, signal.SIGTERM) == 0
    assert lab.vip_holders(VIP) == [] and lab.vip_holders(VIP2) == []


def test_a_stop_kills_the_reader_of_a_long_reload(lab: Lab) -> None:
    """A reload of a configuration near the size limit (16 MB; seconds to parse) then a stop: the reader in
    its child process is killed, so the daemon's exit does not wait for it (lab.stop gives 5 s, then SIGKILL)."""
    first = conf(150)
    p1 = lab.start_vrrptui("r1", first, ["--log-detail"])
    assert wait_holders(lab, ["r1"])
    conf_path = Path(p1.conf_path)  # type: ignore[attr-defined]
    block = "vrrp_instance VI_{0} {{\n interface eth0\n virtual_router_id {1}\n priority 100\n advert_int 1\n" \
            " virtual_ipaddress {{\n  10.{2}.{3}.{4}/32\n }}\n}}\n"
    conf_path.write_text(first + "".join(block.format(i, i % 254 + 2, i >> 16, (i >> 8) & 255, i & 255)
                                         for i in range(120_000)))
    assert conf_path.stat().st_size < 16 << 20
    p1.send_signal(signal.SIGHUP)
    assert lab.wait_for(lambda: "Reloading" in lab.log(p1), WAIT)
    time.sleep(0.5)  # the reader is at work
    assert lab.stop(p1, signal.SIGTERM) == 0, lab.log(p1)
    assert "Reload abandoned: stopping" in lab.log(p1)
    assert lab.vip_holders(VIP) == []


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2])
def test_a_sighup_or_dump_signal_while_the_daemon_starts_does_not_kill_it(lab: Lab, sig: signal.Signals) -> None:
    """`systemctl reload` or a config tool's SIGHUP before the daemon's handler is in place (here while it parses
    a config of 80,000 vrrp_scripts, ~2 s): the default action killed it; now it is ignored until the handler
    is there, and the daemon starts with the file as it read it."""
    scripts = "".join(f'vrrp_script s{i} {{\n  script "/bin/true"\n}}\n' for i in range(80000))
    p1 = lab.start_vrrptui("r1", scripts + conf(150), ["--log-detail"])
    time.sleep(0.4)  # the interpreter runs: parsing
    assert "Startup complete" not in lab.log(p1)
    p1.send_signal(sig)
    assert lab.wait_for(lambda: "Startup complete" in lab.log(p1) or p1.poll() is not None, WAIT), lab.log(p1)
    assert p1.poll() is None, f"exit {p1.returncode}: {lab.log(p1)}"
    assert wait_holders(lab, ["r1"])


def test_signals_during_the_stop_neither_kill_the_daemon_half_way_nor_print_a_traceback(lab: Lab) -> None:
    """After the resign the loop's handlers are gone while the guardian stops and the pid files go: a SIGHUP
    or SIGUSR1 there killed the daemon (exit 129/138, pid files left, no last log line), a second SIGINT
    printed a KeyboardInterrupt traceback. Signals keep coming here until it has exited."""
    pidfile = lab.workdir / "r1-signals.pid"
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail", "-p", str(pidfile)])
    assert wait_holders(lab, ["r1"])
    assert pidfile.exists()
    p1.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + WAIT
    cycle = (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGTERM)
    n = 0
    while p1.poll() is None and time.monotonic() < deadline:
        try:
            p1.send_signal(cycle[n % len(cycle)])
        except ProcessLookupError:
            break
        n += 1
        time.sleep(0.002)
    assert p1.wait(WAIT) == 0, lab.log(p1)
    log = lab.log(p1)
    assert "Stopped vrrptui" in log and "Traceback" not in log, log
    assert not pidfile.exists()
    assert lab.vip_holders(VIP) == []
