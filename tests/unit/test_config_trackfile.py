"""track_file definitions and an instance's track_file entries, weights resolved as keepalived does."""

from __future__ import annotations

from vrrptui.config.model import TrackFile, TrackFileDef
from vrrptui.config.parser import parse_config
from vrrptui.engine.outputs import LogLine, RunNotify, State
from vrrptui.engine.tracking import Tracker

from test_machine import instance, machine

CONF = """\
track_file tf1 {
  file "/run/tf1"
  weight -10
  init_file 5 overwrite
}
vrrp_track_file tf2 {
  file "/run/tf2"
  weight 5 reverse
}
track_file unused {
  file "/run/unused"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  track_file {
    tf1
    tf2
    tf3
    tf1 weight 0
    tf2 weight 7 reverse
  }
  virtual_ipaddress { 10.0.0.1 }
}
"""


def test_track_files_resolved(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    config = parse_config(str(path), check_interfaces=False)
    assert config.instances[0].track_files == (
        TrackFile("tf1", -10), TrackFile("tf2", -5), TrackFile("tf1", 0), TrackFile("tf2", -7))
    assert config.track_files == (
        TrackFileDef("tf1", "/run/tf1", -10, False, 5, True, str(path), 1),
        TrackFileDef("tf2", "/run/tf2", 5, True, None, False, str(path), 6))
    (warning,) = config.warnings
    assert (warning.line, warning.message) == (19, "track_file 'tf3' is not defined: keepalived ignores this tracker "
                                                   "(\"track file tf3 not found\"), and so does vrrptui")


def test_file_tracker_contribution_and_fault():
    weighted = Tracker("file", "f", -10, value=3)
    assert (weighted.faulting, weighted.contribution) == (False, -30)
    assert Tracker("file", "f", -10, value=26).faulting  # -260 < -253: FAULT
    assert Tracker("file", "f", 254, value=1).contribution == 253
    assert Tracker("file", "f", 0, up=False, value=1).faulting
    assert not Tracker("file", "f", 0, value=0).faulting


def test_a_track_file_fault_keeps_the_priority_it_had():
    # keepalived 2.2.7: weight 10, value 30 then -30: notify `FAULT 254`, no "Changing effective priority" line;
    # vrrptui dropped the file's weight first and reported `FAULT 150`
    inst = instance(priority=150, track_files=(TrackFile("tf", 10),))
    m = machine(inst)
    m.start(0.0)
    m.tracked_state("file", "tf", 30, 1.0)
    assert m.effective_priority == 254
    out = m.tracked_state("file", "tf", -30, 2.0)
    assert m.state is State.FAULT and RunNotify("VI_1", "FAULT", 254) in out
    assert not [o for o in out if isinstance(o, LogLine) and "Changing effective priority" in o.text]
    m.tracked_state("file", "tf", 2, 3.0)
    assert m.state is State.BACKUP and m.effective_priority == 170


SYNC = """\
vrrp_script chk {
  script "/bin/true"
  weight 10
}
vrrp_script down {
  script "/bin/true"
}
vrrp_sync_group VG {
  group {
    A
    B
  }
  track_interface {
    eth1
    eth2 weight 5
  }
  track_script {
    down
  }
}
vrrp_sync_group VW {
  group {
    C
  }
  sync_group_tracking_weight
  track_script {
    chk
  }
}
""" + "".join(f"""vrrp_instance {name} {{
  interface eth0
  virtual_router_id {vrid}
  virtual_ipaddress {{ 10.0.0.{vrid} }}
  track_script {{
    chk weight 20
  }}
}}
""" for name, vrid in (("A", 1), ("B", 2), ("C", 3)))


def test_sync_group_trackers_apply_to_every_member_and_weights_are_dropped_as_keepalived(tmp_path):
    # keepalived: "(A) ignoring tracked script chk with weights due to SYNC group", unless
    # sync_group_tracking_weight is set on the group.
    path = tmp_path / "keepalived.conf"
    path.write_text(SYNC)
    config = parse_config(str(path), check_interfaces=False)
    a, b, c = config.instances
    for inst in (a, b):
        assert [t.name for t in inst.track_interfaces] == ["eth1"]
        assert [t.name for t in inst.track_scripts] == ["down"]
    # the group's `chk` comes after C's own line: a duplicate, ignored as keepalived's "duplicate track_script"
    assert [(t.name, t.weight) for t in c.track_scripts] == [("chk", 20)]
    messages = [d.message for d in config.warnings]
    assert "(C) duplicate track_script chk - ignoring" in messages
    assert "(A) ignoring tracked script chk with weights due to SYNC group VG, as keepalived does " \
           "(sync_group_tracking_weight in the group keeps them)" in messages
    assert "(B) ignoring tracked interface eth2 with weights due to SYNC group VG, as keepalived does " \
           "(sync_group_tracking_weight in the group keeps them)" in messages
