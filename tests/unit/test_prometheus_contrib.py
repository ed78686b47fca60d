"""contrib/: the alert rules pass `promtool check rules` and their unit tests; the rules and the
Grafana dashboard only name series that vrrptui's /metrics serves."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from test_daemon_metrics import status

from vrrptui.daemon.drillfile import append_drill
from vrrptui.daemon.metrics import DrillCollector, Sample, families
from vrrptui.records import Drill

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
RULES = CONTRIB / "prometheus" / "alerts.yml"
DASHBOARD = CONTRIB / "grafana" / "vrrptui-dashboard.json"
SERIES = re.compile(r"\b((?:keepalived|vrrptui)_[a-z_]+)")


def test_promtool_checks_the_rules(promtool_ok: str) -> None:
    out = subprocess.run([promtool_ok, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 6 rules found" in out.stdout


def test_promtool_rule_unit_tests_pass(promtool_ok: str) -> None:
    out = subprocess.run([promtool_ok, "test", "rules", "alerts_test.yml"], cwd=RULES.parent, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def served(tmp_path: Path) -> set[str]:
    drills = tmp_path / "drills.jsonl"
    append_drill(drills, Drill("failover", "VI_1", "eth0", 51, 4, "2026-12-03T04:00:00", 1.0, "192.168.1.11",
                               result="ok", takeover_ms=362.0, theory_ms=361.0, client_outage_ms=380.0))
    base = status("MASTER")
    base.counters.drops["auth"] = 1  # drops are served per reason seen
    sample = Sample(now=0.0, statuses=(base,), interfaces={"VI_1": "eth0"}, peers={"VI_1": 1},
                    split={"VI_1": False}, takeover={"VI_1": 0.3}, scripts={"chk": True})
    names = {"keepalived_up"}
    for family in [*families(sample), *DrillCollector(str(drills)).collect()]:
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


def test_rules_and_dashboard_name_only_served_series(tmp_path: Path) -> None:
    names = served(tmp_path)
    in_rules = set(SERIES.findall(RULES.read_text()))
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    in_dashboard = set(SERIES.findall(" ".join(exprs)))
    assert in_rules and in_dashboard
    assert in_rules <= names, in_rules - names
    assert in_dashboard <= names, in_dashboard - names
