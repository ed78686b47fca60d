"""`--metrics`: a real Prometheus (Debian's package) in pc1 scrapes r1 and r2 across a failover.

r1 (150) and r2 (100) run headless vrrptui with --metrics on their lab addresses; Prometheus
runs in pc1 with a 0.5 s scrape interval and is asked through its HTTP API, as a dashboard
or alert rule would, for `keepalived_vrrp_state`. `promtool check metrics` lints a scrape.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from vrrptui.daemon.drillfile import append_drill
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf
from vrrptui.records import Drill

pytestmark = pytest.mark.netns

WAIT = 30.0  # upper bound for anything to happen (Prometheus start-up included); never a performance claim
PORT = 9165
PROMETHEUS_PORT = 9090
FETCH = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"


def fetch(lab: Lab, node: str, url: str) -> str | None:
    out = lab.exec(node, [sys.executable, "-c", FETCH, url], timeout=30)
    return out.stdout if out.returncode == 0 else None


def query(lab: Lab, promql: str) -> dict[str, float]:
    """Instant query -> {instance label: value} (empty when Prometheus is not up yet)."""
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query?query={urllib.parse.quote(promql)}"
    text = fetch(lab, "pc1", url)
    if text is None:
        return {}
    result = json.loads(text)["data"]["result"]
    return {r["metric"]["instance"].split(":")[0]: float(r["value"][1]) for r in result}


def start_prometheus(lab: Lab, tmp_path: Path, binary: str) -> subprocess.Popen[Any]:
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""\
global:
  scrape_interval: 500ms
  scrape_timeout: 400ms
scrape_configs:
  - job_name: vrrptui
    static_configs:
      - targets: ['192.168.1.11:{PORT}', '192.168.1.12:{PORT}']
""")
    log = open(tmp_path / "prometheus.log", "wb")
    return lab.popen("pc1", [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"],
                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def test_prometheus_sees_keepalived_vrrp_state_move_across_a_failover(lab: Lab, tmp_path: Path,
                                                                     prometheus_ok: str) -> None:
    r1 = lab.start_vrrptui("r1", conf(150), ["--metrics", f"192.168.1.11:{PORT}"])
    r2 = lab.start_vrrptui("r2", conf(100), ["--metrics", f"192.168.1.12:{PORT}"])
    start_prometheus(lab, tmp_path, prometheus_ok)
    state = f'keepalived_vrrp_state{{iname="VI_1",vrid="51",ip_address="{VIP}"}}'
    before = lab.wait_for(lambda: query(lab, state) == {"192.168.1.11": 2.0, "192.168.1.12": 1.0}, WAIT, 0.2)
    assert before, (query(lab, state), (tmp_path / "prometheus.log").read_text()[-2000:], lab.log(r1), lab.log(r2))
    assert query(lab, "keepalived_up") == {"192.168.1.11": 1.0, "192.168.1.12": 1.0}
    assert query(lab, "vrrptui_peers_heard") == {"192.168.1.11": 0.0, "192.168.1.12": 1.0}

    lab.stop(r1)  # SIGTERM: r1 resigns with priority 0, r2 takes over
    after = lab.wait_for(lambda: query(lab, state) == {"192.168.1.12": 2.0}, WAIT, 0.2)
    assert after, query(lab, state)
    # r1's series can go before its target: a scrape while it stops answers keepalived_up 0, no instances
    down = lab.wait_for(lambda: query(lab, 'up{job="vrrptui"}') == {"192.168.1.11": 0.0, "192.168.1.12": 1.0},
                        WAIT, 0.2)
    assert down, query(lab, 'up{job="vrrptui"}')
    assert query(lab, "keepalived_priority_zero_received_total")["192.168.1.12"] >= 1
    assert query(lab, "keepalived_become_master_total")["192.168.1.12"] >= 1
    takeover = query(lab, "vrrptui_takeover_seconds")
    assert list(takeover) == ["192.168.1.12"] and 0 < takeover["192.168.1.12"] < 1.0  # priority 0: within ~skew


def test_promtool_accepts_a_scrape(lab: Lab, promtool_ok: str, tmp_path: Path) -> None:
    drills = tmp_path / "drills.jsonl"  # what the console records for the config
    append_drill(drills, Drill("failover", "VI_1", "eth0", 51, 4, "2026-12-03T04:00:00", 1.0, "192.168.1.12",
                               result="ok", takeover_ms=362.0, theory_ms=361.0, client_outage_ms=380.0))
    lab.start_vrrptui("r1", conf(150, extra="track_interface {\n        eth0 weight -20\n    }"),
                      ["--metrics", f"192.168.1.11:{PORT}", "--drills", str(drills)])
    scrape = lab.wait_for(lambda: (t := fetch(lab, "pc1", f"http://192.168.1.11:{PORT}/metrics")) and
                          "keepalived_vrrp_state{" in t and t, WAIT, 0.1)
    assert scrape and 'vrrptui_drill_takeover_seconds{action="failover",iname="VI_1"' in scrape
    assert scrape
    out = subprocess.run([promtool_ok, "check", "metrics"], input=scrape, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "" and out.stderr.strip() == ""  # no lint warnings either


HOLD = """
import socket, sys, time
held = []
for _ in range(int(sys.argv[2])):
    try:
        s = socket.create_connection((sys.argv[1], 9165), timeout=2)
        s.send(b"GET /metrics HTTP/1.1\\r\\n")  # and never the rest
        held.append(s)
    except OSError:
        pass
print(len(held), flush=True)
time.sleep(float(sys.argv[3]))
"""


def test_connections_held_open_to_the_metrics_port_take_no_descriptors_from_the_daemon(lab: Lab) -> None:
    # prometheus_client's server started a thread per connection and waited on it for ever: a host holding
    # 200 connections took every descriptor a daemon limited to 256 may open; its script then failed
    # (priority dropped) and the daemon stopped on EMFILE. Now at most 8 are served (2 per source), for 5 s.
    script = 'vrrp_script chk {\n    script "/bin/true"\n    interval 0.2\n    weight -60\n}\n'
    r1 = lab.start_vrrptui("r1", conf(150, extra="track_script {\n        chk\n    }", top=script),
                           ["--metrics", f"192.168.1.11:{PORT}"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(r1)
    subprocess.run(["prlimit", f"--pid={r1.pid}", "--nofile=256:256"], check=True)
    holder = lab.popen("pc1", [sys.executable, "-c", HOLD, "192.168.1.11", "300", "20"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert int(holder.stdout.readline()) > 0
        fds = len(list(Path(f"/proc/{r1.pid}/fd").iterdir()))
        threads = len(list(Path(f"/proc/{r1.pid}/task").iterdir()))
        assert fds < 100 and threads < 20, (fds, threads)
        text = fetch(lab, "r1", f"http://192.168.1.11:{PORT}/metrics")  # Prometheus from another address
        assert text is not None and "keepalived_vrrp_state" in text
    finally:
        holder.kill()
        holder.wait()
    assert r1.poll() is None, lab.log(r1)
    log = lab.log(r1)
    assert "Changing effective priority" not in log and "Traceback" not in log, log
    assert lab.vip_holders(VIP) == ["r1"]
