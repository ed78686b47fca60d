"""kill -9 of a master, then a restart: the VIP the dead run left is removed first, from its journal.

The daemon journals the VIPs it holds (and the VRRP sockets it listens on, and its masters'
priority-0 adverts) next to its per-config lock. kill -9 of the daemon alone (the OOM killer):
its guardian sends those adverts and removes the VIPs at once. kill -9 of both (the tests
here that restart): the restarted daemon deletes them before its heavy start-up, then listens
at once, and its Master_Down_Timer counts from then. A live daemon's journal is never acted on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0


def journals(lab: Lab, node: str) -> list[Path]:
    return list((lab.node_dir(node) / "run").glob("*.vips"))


def test_killed_master_restarted_removes_its_stale_vip_first_then_takes_over(lab: Lab) -> None:
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
    assert lab.wait_for(lambda: journals(lab, "r1") and journals(lab, "r1")[0].read_text().startswith("eth0 "),
                        WAIT)  # the backup's journal listed the VIP as `may`; the master's as held
    lines = journals(lab, "r1")[0].read_text().splitlines()
    assert lines[:2] == [f"eth0 {VIP}/24", "listen eth0 4 112 multicast"], lines
    assert len(lines) == 3 and lines[2].startswith("resign eth0 4 192.168.1.11 224.0.0.18 31"), lines
    p2 = lab.start_vrrptui("r2", conf(100), ["--log-detail"])
    lab.kill_tree(p1)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1", "r2"], WAIT)  # nothing removes a killed run's VIP
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])  # the same config file
    assert lab.wait_for(lambda: lab.log(p1).count("Starting vrrptui") == 2
                        and "Startup complete" in lab.log(p1).rsplit("Starting vrrptui", 1)[1], WAIT)
    log = lab.log(p1).rsplit("Starting vrrptui", 1)[1]
    assert "left by an earlier run (killed)" in log, lab.log(p1) + lab.log(p2)
    assert log.index("left by an earlier run (killed)") < log.index("Startup complete")
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p2)
    lab.stop(p1)
    assert lab.wait_for(lambda: not journals(lab, "r1"), WAIT)  # a clean stop holds nothing: no journal


def test_the_stale_vip_goes_before_anything_heavy_is_imported(lab: Lab) -> None:
    """The journalled VIP is deleted (a real RTM_DELADDR in the node's namespace) while neither asyncio,
    argparse, the config parser, ipaddress, dataclasses, typing nor the socket module are imported;
    the journalled socket is opened before them too, and the journal is gone."""
    lab.exec("r1", ["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"], check=True)
    config = lab.node_dir("r1") / "k.conf"
    config.write_text(conf(150))
    env = {**os.environ, "VRRPTUI_RUNTIME_DIR": str(lab.node_dir("r1") / "run"),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    heavy = ("asyncio", "argparse", "vrrptui.config", "ipaddress", "dataclasses", "typing", "socket", "enum",
             "__future__", "struct")
    write = f"""if True:
        from vrrptui.daemon.pidfile import runtime_dir
        from vrrptui.daemon.stale import VipJournal
        runtime_dir().mkdir(mode=0o755, exist_ok=True)
        journal = VipJournal.for_config({str(config)!r})
        journal.listening = lambda: [(("eth0", 4, 112), True)]
        journal.write([("eth0", "{VIP}/24")])
    """
    lab.exec("r1", [sys.executable, "-c", write], env=env, check=True)
    code = f"""if True:
        import sys
        from vrrptui.net import nlmsg
        exchange = nlmsg.exchange
        def spy(*args):
            print("imported at the deletion:", sorted(m for m in {heavy!r} if m in sys.modules))
            return exchange(*args)
        nlmsg.exchange = spy
        from vrrptui.daemon import stale
        print(stale.remove_journalled({str(config)!r}))
        print("imported once listening:", sorted(m for m in {heavy!r} if m in sys.modules))
        left = any(name.endswith(".vips") for name in stale.posix.listdir(stale.runtime_dir_name()))
        print("listening:", sorted(sys.modules["vrrptui.daemon.earlylisten"]._opened), "journal left:", left)
    """
    out = lab.exec("r1", [sys.executable, "-S", "-c", code], env=env, check=True).stdout
    assert "imported at the deletion: []" in out, out
    assert "imported once listening: []" in out, out
    assert f"['removed {VIP}/24 from eth0, left by an earlier run (killed)']" in out, out
    assert "listening: [(('eth0', 4, 112), True)] journal left: False" in out, out
    assert lab.vip_holders(VIP) == []


def test_restarted_as_the_systemd_unit_runs_it_the_stale_vip_goes_before_site(lab: Lab) -> None:
    """`PYTHON -S vrrptui` (the unit's ExecStart; the lab starts its daemons so): the command finds its package
    itself, and the journalled VIP is deleted before site (and os, which site imports) has run; the journalled
    socket is opened (earlylisten) before site too. Then site's setup, and the daemon starts as ever, named
    `vrrptui` (ps, pgrep, systemctl status), not python3."""
    p1 = lab.start_vrrptui("r1", conf(150))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and journals(lab, "r1"), WAIT), lab.log(p1)
    assert psutil.Process(p1.pid).name() == "vrrptui"
    assert psutil.Process(p1.pid).cmdline()[1] == "-S"
    lab.kill_tree(p1)
    assert lab.vip_holders(VIP) == ["r1"]  # nothing removes a killed run's VIP
    trace = lab.node_dir("r1") / "importtime.txt"
    env = {**os.environ, "VRRPTUI_RUNTIME_DIR": str(lab.node_dir("r1") / "run"), "PYTHONPROFILEIMPORTTIME": "1"}
    with open(trace, "wb") as err:
        p1 = lab.popen("r1", lab.vrrptui_argv("r1", lab.node_dir("r1") / "vrrptui.conf", ["--log-detail"]),
                       env=env, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
    try:
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and "vrrptui.daemon.service" in trace.read_text(),
                            WAIT)
    finally:
        lab.stop(p1)
    imports = [line.rsplit("|", 1)[1] for line in trace.read_text().splitlines() if line.startswith("import time:")]
    names = [name.strip() for name in imports]  # in the order they finished, a module's own imports first
    top = [name.strip() for name in imports if not name.startswith("  ")]
    assert top.index("vrrptui.daemon.stale") < top.index("vrrptui.daemon.earlylisten") < top.index("site"), top
    before = names[:names.index("vrrptui.daemon.stale")]  # stale and what it imports: the deletion follows at once
    assert "os" not in before and "site" not in before, names
    assert lab.vip_holders(VIP) == []  # stopped: resigned and removed


def test_a_live_daemons_journal_is_left_alone(lab: Lab) -> None:
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
    second = lab.start_vrrptui("r1", conf(150), ["--log-detail"], tag="vrrptui")  # same config: refused
    assert lab.wait_for(lambda: second.poll() is not None, WAIT)
    assert lab.vip_holders(VIP) == ["r1"]
    assert "left by an earlier run" not in lab.log(p1)


def test_a_restart_hearing_a_higher_priority_master_while_it_starts_stays_backup(lab: Lab) -> None:
    """At 0.05 s adverts the restarted daemon's Master_Down_Timer (counted from when it began to
    listen) runs out before its start-up is done: the adverts queued meanwhile are read first,
    so it never takes over from the higher-priority master (tcpdump and the VIP as witnesses)."""
    def fast(priority: int) -> str:
        return conf(priority).replace("advert_int 0.1", "advert_int 0.05")

    p1 = lab.start_vrrptui("r1", fast(150))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and journals(lab, "r1"), WAIT), lab.log(p1)
    lab.kill_tree(p1)
    k2 = lab.start_keepalived("r2", fast(200))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1", "r2"], WAIT), lab.log(k2)  # r1's is stale
    r1 = next(iter(lab.addresses("r1")))
    cap = lab.capture(bpf="vrrp")
    time.sleep(0.5)  # tcpdump is up
    p1 = lab.start_vrrptui("r1", fast(150), ["--log-detail"])

    def second_run() -> str:
        return lab.log(p1).rsplit("Starting vrrptui", 1)[1] if lab.log(p1).count("Starting vrrptui") == 2 else ""

    assert lab.wait_for(lambda: "Entering BACKUP STATE (init)" in second_run(), WAIT), lab.log(p1)
    assert "left by an earlier run (killed)" in second_run()
    time.sleep(1.0)  # 20 of r2's adverts
    assert "Entering MASTER STATE" not in second_run(), second_run()
    assert lab.vip_holders(VIP) == ["r2"]
    sent = [line for line in cap.read() if f"{r1} > 224.0.0.18" in line]
    assert sent == [], sent
    assert [line for line in cap.read() if "prio 200" in line], lab.log(k2)  # the witness saw r2 meanwhile


def guardian_of(proc: subprocess.Popen) -> psutil.Process:
    children = psutil.Process(proc.pid).children()
    assert [c.cmdline()[1:4] for c in children] == [["-P", "-m", "vrrptui.daemon.guardian"]], children
    return children[0]


def test_a_killed_daemons_guardian_resigns_for_it_at_once(lab: Lab) -> None:
    """kill -9 of the daemon alone, as the OOM killer does: its guardian sends the journalled priority-0
    advert (tcpdump on the bridge), removes the VIP and the journal; r2 takes over after Skew_Time, not
    Master_Down_Interval, and the VIP is never on both. A restart finds nothing left."""
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    p2 = lab.start_vrrptui("r2", conf(100), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and journals(lab, "r1")
                        and "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p1) + lab.log(p2)
    guardian = guardian_of(p1)
    cap = lab.capture()
    time.sleep(0.5)  # tcpdump is up
    os.kill(p1.pid, signal.SIGKILL)
    p1.wait()
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p1) + lab.log(p2)
    assert lab.wait_for(lambda: any(a.src == "192.168.1.12" for a in cap.adverts()), WAIT)
    adverts = cap.adverts()
    resign = [a for a in adverts if a.src == "192.168.1.11" and a.priority == 0]
    assert len(resign) == 1, [a.line for a in adverts]
    last_150 = [a for a in adverts if a.src == "192.168.1.11" and a.priority == 150][-1]
    assert last_150.time < resign[0].time
    first_new = next(a for a in adverts if a.src == "192.168.1.12" and a.time >= resign[0].time)
    # RFC 5798 6.4.2: priority 0 -> the backup waits Skew_Time (0.061 s), not Master_Down_Interval (0.361 s)
    assert first_new.time - resign[0].time < 0.361, (resign[0].line, first_new.line)
    assert "(VI_1) Backup received priority 0 advertisement" in lab.log(p2)
    assert lab.wait_for(lambda: not guardian.is_running() or guardian.status() == psutil.STATUS_ZOMBIE, WAIT)
    assert not journals(lab, "r1")
    log = lab.log(p1)
    assert f"vrrptui pid {p1.pid} exited without stopping (killed): its guardian resigns for it" in log, log
    assert "sent priority 0 from 192.168.1.11 to 224.0.0.18 on eth0" in log, log
    assert f"removed {VIP}/24 from eth0, left by an earlier run (killed)" in log, log
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"], tag="again")  # the lock is free again
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    assert "left by an earlier run" not in lab.log(p1)


def test_a_killed_backups_guardian_removes_a_vip_added_after_its_journal(lab: Lab) -> None:
    """A kill -9 that lands just after a takeover, between the VIP's RTM_NEWADDR and the journal that lists it
    as held, is made to happen here: r1 is a backup (its journal lists the VIP as one it may take) and the VIP
    is put on its interface by hand. The guardian removes it: the VIP is left on r2 alone."""
    p2 = lab.start_vrrptui("r2", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p2)
    p1 = lab.start_vrrptui("r1", conf(100), ["--log-detail"])
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p1) and journals(lab, "r1"), WAIT), lab.log(p1)
    lines = journals(lab, "r1")[0].read_text().splitlines()
    assert lines[:2] == [f"may eth0 {VIP}/24", "listen eth0 4 112 multicast"], lines
    guardian = guardian_of(p1)
    lab.exec("r1", ["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"], check=True)
    assert lab.vip_holders(VIP) == ["r1", "r2"]
    os.kill(p1.pid, signal.SIGKILL)
    p1.wait()
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p1)
    assert lab.wait_for(lambda: not guardian.is_running() or guardian.status() == psutil.STATUS_ZOMBIE, WAIT)
    assert not journals(lab, "r1")
    assert f"removed {VIP}/24 from eth0, left by an earlier run (killed)" in lab.log(p1), lab.log(p1)
    assert "sent priority 0" not in lab.log(p1)  # a backup: nothing to resign


def test_a_stopped_daemons_guardian_does_nothing(lab: Lab) -> None:
    """SIGTERM to the daemon and its guardian at once, as systemd stops a service's cgroup: the guardian
    ignores it and exits with the daemon; exactly one priority-0 advert is sent, by the daemon."""
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and journals(lab, "r1"), WAIT), lab.log(p1)
    guardian = guardian_of(p1)
    cap = lab.capture()
    time.sleep(0.5)
    guardian.send_signal(signal.SIGTERM)
    assert lab.stop(p1, signal.SIGTERM) == 0
    assert lab.wait_for(lambda: not guardian.is_running() or guardian.status() == psutil.STATUS_ZOMBIE, WAIT)
    time.sleep(0.3)
    resign = [a for a in cap.adverts() if a.src == "192.168.1.11" and a.priority == 0]
    assert len(resign) == 1, [a.line for a in cap.adverts()]
    assert lab.vip_holders(VIP) == [] and not journals(lab, "r1")
    assert "guardian resigns" not in lab.log(p1)


def test_a_killed_ipv6_daemons_guardian_resigns_from_its_link_local(lab: Lab) -> None:
    """The same over IPv6: the journalled advert leaves from r1's link-local address (IPV6_PKTINFO) with hop
    limit 255, so r2 accepts it and takes over after Skew_Time."""
    vip6 = "2001:db8:1::100"

    def v6(priority: int) -> str:
        return conf(priority).replace(f"{VIP}/24", f"{vip6}/64")

    p1 = lab.start_vrrptui("r1", v6(150), ["--log-detail"])
    p2 = lab.start_vrrptui("r2", v6(100), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(vip6) == ["r1"] and journals(lab, "r1")
                        and "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p1) + lab.log(p2)
    r1 = lab.link_local("r1")
    assert f"resign eth0 6 {r1} ff02::12 3" in journals(lab, "r1")[0].read_text()
    cap = lab.capture(bpf="ip6 proto 112")
    time.sleep(0.5)
    os.kill(p1.pid, signal.SIGKILL)
    p1.wait()
    assert lab.wait_for(lambda: lab.vip_holders(vip6) == ["r2"], WAIT), lab.log(p1) + lab.log(p2)
    assert lab.wait_for(lambda: any(a.src != r1 for a in cap.adverts()), WAIT)
    resign = [a for a in cap.adverts() if a.src == r1 and a.priority == 0]
    assert len(resign) == 1, [a.line for a in cap.adverts()]
    assert "(VI_1) Backup received priority 0 advertisement" in lab.log(p2)
    assert f"sent priority 0 from {r1} to ff02::12 on eth0" in lab.log(p1)
