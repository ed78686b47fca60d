"""vrrptui with vrrptui in network namespaces: election, failover, preemption, lifecycle.

Routers r1 (192.168.1.11) and r2 (.12) and client pc1 (.2) on one bridge; VRRPv3 at
0.1 s so Master_Down_Interval is ~0.36 s. Every assertion is about protocol behaviour
(who holds the VIP, what went on the wire, what `vrrptui status` says); the waits only
bound how long a test may hang when something is broken.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vrrptui.lab.namespaces import vrrptui_command
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # upper bound for anything to happen; never a performance claim


def status(lab: Lab, node: str, proc: subprocess.Popen[Any]) -> dict[str, Any]:
    """`vrrptui status --json` against the daemon's own control socket; instances by name."""
    sock = lab.node_dir(node) / "run" / f"{proc.pid}.sock"
    out = lab.exec(node, [*vrrptui_command(), "status", "--json", "--socket", str(sock)])
    assert out.returncode == 0, out.stderr
    daemons = json.loads(out.stdout)["daemons"]
    assert len(daemons) == 1
    return {i["name"]: i for i in daemons[0]["instances"]}


def state_of(lab: Lab, node: str, proc: subprocess.Popen[Any], name: str = "VI_1") -> str | None:
    try:
        return status(lab, node, proc)[name]["state"]
    except (AssertionError, KeyError, ValueError):
        return None


def wait_state(lab: Lab, node: str, proc: subprocess.Popen[Any], want: str, name: str = "VI_1") -> bool:
    return bool(lab.wait_for(lambda: state_of(lab, node, proc, name) == want, WAIT, 0.05))


def wait_holders(lab: Lab, want: list[str]) -> bool:
    return bool(lab.wait_for(lambda: lab.vip_holders(VIP) == want, WAIT, 0.02))


def start_pair(lab: Lab, r1_conf: str, r2_conf: str) -> tuple[subprocess.Popen[Any], subprocess.Popen[Any]]:
    p1 = lab.start_vrrptui("r1", r1_conf, ["--log-detail"])
    p2 = lab.start_vrrptui("r2", r2_conf, ["--log-detail"])
    return p1, p2


def logs(lab: Lab, *procs: subprocess.Popen[Any]) -> str:
    return "\n".join(f"--- {p.node} ---\n{lab.log(p)}" for p in procs)  # type: ignore[attr-defined]


def test_higher_priority_wins_the_election_and_status_says_so(lab: Lab) -> None:
    p1, p2 = start_pair(lab, conf(150), conf(100))
    assert wait_holders(lab, ["r1"]), logs(lab, p1, p2)
    assert wait_state(lab, "r2", p2, "BACKUP")
    r1, r2 = status(lab, "r1", p1)["VI_1"], status(lab, "r2", p2)["VI_1"]
    assert (r1["state"], r1["effective_priority"], r1["master_address"]) == ("MASTER", 150, "192.168.1.11")
    assert (r2["state"], r2["master_address"], r2["master_priority"]) == ("BACKUP", "192.168.1.11", 150)
    assert r1["vips"] == [f"{VIP}/24"]
    assert r2["learned_advert_int"] == pytest.approx(0.1)
    assert r2["counters"]["adverts_received"] > 0
    human = lab.exec("r1", [*vrrptui_command(), "status", "--socket",
                            str(lab.node_dir("r1") / "run" / f"{p1.pid}.sock")]).stdout
    assert "VI_1: MASTER" in human and "150 effective, 150 configured" in human


def test_cable_pull_moves_the_vip_and_the_clients_ping_recovers(lab: Lab) -> None:
    p1, p2 = start_pair(lab, conf(150), conf(100))
    assert wait_holders(lab, ["r1"]), logs(lab, p1, p2)
    ping = lab.pinger("pc1", VIP)
    assert lab.wait_for(lambda: ping.replies_since(0) > 3, WAIT)
    lab.cut("r1")
    cut_at = time.time()
    assert wait_holders(lab, ["r2"]), logs(lab, p1, p2)
    # the client reaches the VIP again, now answered by r2
    assert lab.wait_for(lambda: ping.replies_since(cut_at + 0.05) > 3, WAIT), ping.lines[-10:]
    assert "(VI_1) Entering MASTER STATE" in lab.log(p2)


def test_master_returns_and_preempts(lab: Lab) -> None:
    p1, p2 = start_pair(lab, conf(150), conf(100))
    assert wait_holders(lab, ["r1"])
    lab.cut("r1")
    assert wait_holders(lab, ["r2"])
    cap = lab.capture()
    lab.heal("r1")
    assert wait_holders(lab, ["r1"]), logs(lab, p1, p2)
    assert wait_state(lab, "r2", p2, "BACKUP")
    r1 = status(lab, "r1", p1)["VI_1"]
    assert r1["last_reason"] in ("preempted", "master down timer expired")
    # on the wire: r2 stepped down for r1's higher priority, no second master stayed
    adverts = cap.adverts()
    assert any(a.src == "192.168.1.11" and a.priority == 150 for a in adverts)
    assert "Master received advert from 192.168.1.11 with higher priority 150, ours 100" in lab.log(p2)


def test_nopreempt_returning_master_stays_backup(lab: Lab) -> None:
    lab.start_vrrptui("r2", conf(100), ["--log-detail"])
    assert wait_holders(lab, ["r2"])
    p1 = lab.start_vrrptui("r1", conf(150, extra="nopreempt"), ["--log-detail"])
    assert wait_state(lab, "r1", p1, "BACKUP")
    # r1 hears many of r2's lower-priority adverts and still does not take over
    assert lab.wait_for(lambda: status(lab, "r1", p1)["VI_1"]["counters"]["adverts_received"] >= 20, WAIT)
    r1 = status(lab, "r1", p1)["VI_1"]
    assert (r1["state"], r1["master_address"], r1["preempt"]) == ("BACKUP", "192.168.1.12", False)
    assert lab.vip_holders(VIP) == ["r2"]


def test_sigterm_sends_priority_zero_and_the_backup_takes_over_within_skew_time(lab: Lab) -> None:
    p1, p2 = start_pair(lab, conf(150), conf(100))
    assert wait_holders(lab, ["r1"])
    assert wait_state(lab, "r2", p2, "BACKUP")
    cap = lab.capture()
    assert lab.stop(p1, signal.SIGTERM) == 0
    assert wait_holders(lab, ["r2"]), logs(lab, p1, p2)
    assert lab.wait_for(lambda: any(a.src == "192.168.1.12" for a in cap.adverts()), WAIT)
    adverts = cap.adverts()
    resign = [a for a in adverts if a.src == "192.168.1.11" and a.priority == 0]
    assert len(resign) == 1, [a.line for a in adverts]
    first_new = next(a for a in adverts if a.src == "192.168.1.12" and a.time >= resign[0].time)
    # RFC 5798 6.4.2: priority 0 -> the backup waits Skew_Time (0.061 s), not Master_Down_Interval (0.361 s)
    assert first_new.time - resign[0].time < 0.361, (resign[0].line, first_new.line)
    assert "(VI_1) Backup received priority 0 advertisement" in lab.log(p2)
    assert "(VI_1) removing VIPs." in lab.log(p1)


POLLER = """
import socket, sys, time
while True:  # a monitor asking for status as fast as it is answered, until the daemon has gone
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(sys.argv[1])
            f = s.makefile("rwb")
            while True:
                f.write(b'{"cmd": "status"}\\n'); f.flush()
                if not f.readline():
                    break
    except OSError:
        time.sleep(0.01)
"""


def test_sigterm_while_a_client_polls_status_resigns_at_once(lab: Lab) -> None:
    """A monitor polls the control socket while the master is stopped. The stop must not wait on that client:
    the priority 0 advert goes at once and the backup takes over on it (Skew_Time), so the VIP is never on both
    routers. Before, a client whose answer had just been sent held the stop for the control socket's idle
    timeout (10 s) before the resign, and the backup took over after Master_Down_Interval beside r1's VIP."""
    for _ in range(3):  # the client is caught just after an answer often, not always: three stops
        _stop_while_polled(lab)


def _stop_while_polled(lab: Lab) -> None:
    p1, p2 = start_pair(lab, conf(150), conf(100))
    assert wait_holders(lab, ["r1"]) and wait_state(lab, "r2", p2, "BACKUP")
    sock = lab.node_dir("r1") / "run" / f"{p1.pid}.sock"
    poller = lab.popen("r1", [sys.executable, "-c", POLLER, str(sock)])
    time.sleep(0.3)
    cap = lab.capture()
    assert lab.stop(p1, signal.SIGTERM) == 0, logs(lab, p1)
    assert wait_holders(lab, ["r2"]), logs(lab, p1, p2)
    assert lab.wait_for(lambda: any(a.src == "192.168.1.12" for a in cap.adverts()), WAIT)
    adverts = [a for a in cap.adverts() if a.src in ("192.168.1.11", "192.168.1.12")]
    first_r2 = next(i for i, a in enumerate(adverts) if a.src == "192.168.1.12")
    assert [a.priority for a in adverts[:first_r2]][-1:] == [0], [a.line for a in adverts]  # r1 resigned first
    lab.stop(poller, signal.SIGKILL)
    lab.stop(p2)
    cap.stop()


def test_sigkill_then_restart_leaves_no_stale_vip(lab: Lab) -> None:
    p1 = lab.start_vrrptui("r1", conf(100), ["--log-detail"])
    assert wait_holders(lab, ["r1"])
    lab.kill_tree(p1)
    assert lab.vip_holders(VIP) == ["r1"]  # a crash leaves the VIP behind
    p2 = lab.start_vrrptui("r2", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: "r2" in lab.vip_holders(VIP), WAIT)
    p1 = lab.start_vrrptui("r1", conf(100), ["--log-detail"], tag="vrrptui-again")
    assert wait_holders(lab, ["r2"]), logs(lab, p1, p2)
    assert wait_state(lab, "r1", p1, "BACKUP")
    assert "(VI_1) removing VIPs." in lab.log(p1)
    assert f"(VI_1) removed {VIP}/24 from eth0, left by an earlier run" in lab.log(p1)


def test_link_down_enters_fault_and_comes_back(lab: Lab) -> None:
    p1 = lab.start_vrrptui("r1", conf(100), ["--log-detail"])
    assert wait_holders(lab, ["r1"])
    lab.cut("r1")
    assert wait_state(lab, "r1", p1, "FAULT"), lab.log(p1)
    assert lab.vip_holders(VIP) == []
    assert "(VI_1) Entering FAULT STATE" in lab.log(p1)
    lab.heal("r1")
    assert wait_state(lab, "r1", p1, "MASTER"), lab.log(p1)
    assert wait_holders(lab, ["r1"])
    log = lab.log(p1)
    assert log.index("Entering FAULT STATE") < log.rindex("Entering BACKUP STATE") < log.rindex("Entering MASTER STATE")


def test_track_script_failure_lowers_priority_by_its_weight_and_the_peer_takes_over(lab: Lab) -> None:
    flag = lab.node_dir("r1") / "healthy"
    flag.write_text("ok\n")
    top = f"""
global_defs {{
    enable_script_security
    script_user root
}}
vrrp_script chk_api {{
    script "/usr/bin/test -f {flag}"
    interval 0.1
    fall 2
    rise 2
    weight -60
}}
"""
    p1, p2 = start_pair(lab, conf(150, top=top, extra="track_script {\n chk_api\n}"), conf(100))
    assert wait_holders(lab, ["r1"]), logs(lab, p1, p2)
    flag.unlink()
    assert wait_holders(lab, ["r2"]), logs(lab, p1, p2)
    r1 = status(lab, "r1", p1)["VI_1"]
    assert (r1["state"], r1["effective_priority"], r1["configured_priority"]) == ("BACKUP", 90, 150)
    assert "chk_api" in r1["priority_reason"]
    assert ["chk_api", "failing", -60] in r1["trackers"]
    assert "VRRP_Script(chk_api) failed (exited with status 1)" in lab.log(p1)
    assert "(VI_1) Changing effective priority from 150 to 90" in lab.log(p1)
    flag.write_text("ok\n")
    assert wait_holders(lab, ["r1"]), logs(lab, p1, p2)
    assert "VRRP_Script(chk_api) succeeded" in lab.log(p1)


def test_insecure_track_script_is_refused_with_keepalived_wording(lab: Lab) -> None:
    script_dir = lab.node_dir("r1") / "scripts"
    script_dir.mkdir()
    script = script_dir / "chk.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o777)  # writable by anyone: keepalived refuses to run it as root
    top = f"""
global_defs {{
    enable_script_security
    script_user root
}}
vrrp_script chk {{
    script "{script}"
    interval 0.1
    weight 0
    init_fail
}}
vrrp_script chk_bonus {{
    script "{script}"
    interval 0.1
    weight 50
}}
"""
    # before being dropped, `chk` (weight 0, starts failed) would hold r1 in FAULT and chk_bonus add 50
    p1 = lab.start_vrrptui("r1", conf(150, top=top, extra="track_script {\n chk\n chk_bonus\n}"), ["--log-detail"])
    assert wait_holders(lab, ["r1"]), lab.log(p1)
    log = lab.log(p1)
    assert f"Unsafe permissions found for script '{script}' - disabling." in log
    assert "Disabling track script chk due to insecure" in log
    assert "Disabling track script chk_bonus due to insecure" in log
    assert "Entering FAULT STATE" not in log
    r1 = status(lab, "r1", p1)["VI_1"]
    assert (r1["state"], r1["effective_priority"], r1["trackers"]) == ("MASTER", 150, [])


def test_sync_group_notify_scripts_run_with_keepalived_group_arguments(lab: Lab) -> None:
    d = lab.node_dir("r1")
    record = d / "group.txt"
    script = d / "group.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    script.chmod(0o755)
    group = f"""
vrrp_sync_group G1 {{
    group {{
        VI_1
        VI_2
    }}
    notify {script}
    notify_master "{script} group-master"
}}
"""
    second = conf(120, name="VI_2", vrid=52).replace(VIP, "192.168.1.101")
    p1 = lab.start_vrrptui("r1", group + conf(120) + second, ["--log-detail"])
    assert wait_holders(lab, ["r1"]), lab.log(p1)
    assert lab.wait_for(lambda: record.exists() and "GROUP G1 MASTER 0" in record.read_text(), WAIT), lab.log(p1)
    assert lab.stop(p1, signal.SIGTERM) == 0
    assert lab.wait_for(lambda: "GROUP G1 STOP 0" in record.read_text(), WAIT)
    lines = record.read_text().splitlines()
    assert sorted(lines) == sorted(["GROUP G1 BACKUP 0", "GROUP G1 MASTER 0", "group-master", "GROUP G1 STOP 0"])
    assert lines[-1] == "GROUP G1 STOP 0"  # the BACKUP/MASTER order is the engine's, pinned in test_engine


def test_sigusr1_and_sigusr2_dump_status_and_stats_like_keepalived(lab: Lab, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRRPTUI_DUMP_DIR", str(tmp_path))  # /tmp/vrrptui.* is shared by concurrent runs
    p1 = lab.start_vrrptui("r1", conf(120), ["--log-detail"])
    assert wait_state(lab, "r1", p1, "MASTER"), lab.log(p1)
    data, stats = tmp_path / "vrrptui.data", tmp_path / "vrrptui.stats"
    p1.send_signal(signal.SIGUSR1)
    assert lab.wait_for(data.exists, WAIT), lab.log(p1)
    p1.send_signal(signal.SIGUSR2)
    assert lab.wait_for(stats.exists, WAIT), lab.log(p1)
    text = data.read_text()
    assert f" pid {p1.pid} " in text.splitlines()[1]
    assert "VI_1: MASTER  (VRID 51, VRRPv3 IPv4, interface eth0)" in text
    assert "priority         120 effective, 120 configured" in text
    assert f"VIPs             {VIP}/24" in text
    sent = [line for line in stats.read_text().splitlines() if line.startswith("    Sent: ")]
    assert stats.read_text().startswith("------< VRRP stats of vrrptui pid ")
    assert "VRRP Instance: VI_1" in stats.read_text() and int(sent[0].split()[1]) > 0
    assert data.stat().st_mode & 0o777 == 0o600 and stats.stat().st_mode & 0o777 == 0o600
    log = lab.log(p1)
    assert f"Printing VRRP data for process({p1.pid}) on signal: {data}" in log
    assert f"Printing VRRP stats for process({p1.pid}) on signal: {stats}" in log
    assert wait_state(lab, "r1", p1, "MASTER")  # the signals changed nothing else
    assert lab.stop(p1, signal.SIGTERM) == 0


def test_notify_scripts_run_with_keepalived_arguments(lab: Lab) -> None:
    d = lab.node_dir("r1")
    record = d / "notify.txt"
    script = d / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    script.chmod(0o755)
    master_script = d / "master.sh"
    master_script.write_text(f'#!/bin/sh\necho "master $1" >> {record}\n')
    master_script.chmod(0o755)
    extra = f'notify {script}\n    notify_master "{master_script} now"'
    p1 = lab.start_vrrptui("r1", conf(120, extra=extra), ["--log-detail"])
    assert wait_holders(lab, ["r1"])
    assert lab.wait_for(lambda: record.exists() and "MASTER" in record.read_text(), WAIT)
    assert lab.stop(p1, signal.SIGTERM) == 0
    assert lab.wait_for(lambda: "STOP" in record.read_text(), WAIT)
    lines = record.read_text().splitlines()
    assert "INSTANCE VI_1 BACKUP 120" in lines
    assert "INSTANCE VI_1 MASTER 120" in lines
    assert "master now" in lines
    assert lines[-1] == "INSTANCE VI_1 STOP 120" or "INSTANCE VI_1 STOP 120" in lines
    assert lines.index("INSTANCE VI_1 BACKUP 120") < lines.index("INSTANCE VI_1 MASTER 120")


def test_sighup_with_a_broken_config_keeps_running_and_a_good_one_applies(lab: Lab) -> None:
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert wait_holders(lab, ["r1"])
    before = status(lab, "r1", p1)["VI_1"]
    conf_path = Path(p1.conf_path)  # type: ignore[attr-defined]
    good = conf_path.read_text()
    conf_path.write_text(good + "\nvrrp_instance VI_2 {\n    virtual_router_id 300\n")
    p1.send_signal(signal.SIGHUP)
    assert lab.wait_for(lambda: "keeping the running configuration" in lab.log(p1), WAIT), lab.log(p1)
    assert f"{conf_path}:" in lab.log(p1)  # the error names file:line
    assert p1.poll() is None
    assert state_of(lab, "r1", p1) == "MASTER" and lab.vip_holders(VIP) == ["r1"]
    # a good config adding VI_2: VI_1 is unchanged and keeps its state, its VIP and its clock
    conf_path.write_text(good + conf(150, vrid=52, name="VI_2").replace(f"{VIP}/24", "192.168.1.101/24"))
    p1.send_signal(signal.SIGHUP)
    assert wait_state(lab, "r1", p1, "MASTER", name="VI_2"), lab.log(p1)
    after = status(lab, "r1", p1)
    assert after["VI_1"]["state"] == "MASTER"
    assert after["VI_1"]["state_since"] == before["state_since"]
    assert lab.vip_holders(VIP) == ["r1"] and lab.vip_holders("192.168.1.101") == ["r1"]
    assert lab.stop(p1, signal.SIGTERM) == 0
    assert lab.vip_holders(VIP) == [] and lab.vip_holders("192.168.1.101") == []


def test_control_socket_demote_and_resume(lab: Lab) -> None:
    from vrrptui.daemon.control import request

    p1, p2 = start_pair(lab, conf(150), conf(100))
    assert wait_holders(lab, ["r1"])
    sock = lab.node_dir("r1") / "run" / f"{p1.pid}.sock"
    assert request(sock, {"cmd": "demote", "instance": "VI_1"}) == {"ok": True}
    assert wait_holders(lab, ["r2"]), logs(lab, p1, p2)
    assert status(lab, "r1", p1)["VI_1"]["held"] == "demoted"
    reply = request(sock, {"cmd": "set_priority", "instance": "VI_1", "priority": 300})
    assert reply["ok"] is False and "1-254" in reply["error"]
    assert request(sock, {"cmd": "resume", "instance": "VI_1"}) == {"ok": True}
    assert wait_holders(lab, ["r1"]), logs(lab, p1, p2)
    reply = request(sock, {"cmd": "demote", "instance": "VI_9"})
    assert reply["ok"] is False and "VI_9" in reply["error"]


def test_status_finds_every_running_vrrptui(lab: Lab) -> None:
    p1, p2 = start_pair(lab, conf(150), conf(100))
    assert wait_holders(lab, ["r1"])
    assert wait_state(lab, "r2", p2, "BACKUP")
    # both daemons share one runtime directory here, as namespaces share /run on a real host
    shared = lab.workdir / "shared-run"
    shared.mkdir()
    for node, proc in (("r1", p1), ("r2", p2)):
        (shared / f"{proc.pid}.sock").symlink_to(lab.node_dir(node) / "run" / f"{proc.pid}.sock")
    out = subprocess.run([*vrrptui_command(), "status", "--json"], capture_output=True, text=True,
                         env={**os.environ, "VRRPTUI_RUNTIME_DIR": str(shared)})
    assert out.returncode == 0, out.stderr
    daemons = json.loads(out.stdout)["daemons"]
    by_ns = {d["namespace"]: d["instances"][0]["state"] for d in daemons}
    assert by_ns == {lab.ns("r1"): "MASTER", lab.ns("r2"): "BACKUP"}


def test_address_owner_never_removes_the_interfaces_own_address(lab: Lab) -> None:
    own = "192.168.1.11"
    p1 = lab.start_vrrptui("r1", conf(255).replace(f"{VIP}/24", f"{own}/24"), ["--log-detail"])
    assert wait_state(lab, "r1", p1, "MASTER"), lab.log(p1)
    assert status(lab, "r1", p1)["VI_1"]["last_reason"] == "address owner"
    assert lab.stop(p1, signal.SIGTERM) == 0
    assert lab.has_vip("r1", f"{own}/24")  # it was there before vrrptui: it stays after
