"""A reload keeps an instance whose text did not change, even when it moved in the file.

Adding a comment at the top of keepalived.conf shifts every line below it: the parsed objects then differ
only in where they were read. That must not restart the instance (a master would resign, drop its VIPs
and start over as BACKUP: a failover for nothing).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_engine import PRIMARY, config, run
from test_machine import instance, vip
from vrrptui.config.model import NotifyScript, SyncGroup, TrackScript, VrrpScript
from vrrptui.config.parser import parse_config
from vrrptui.engine.engine import Engine
from vrrptui.engine.machine import VrrpMachine
from vrrptui.engine.outputs import RunNotify, SendAdvert, State, StateChanged

CONF = "/etc/keepalived/keepalived.conf"


def _placed(line: int) -> tuple:
    """VI_1 (tracking a script, with a notify script and a sync group) as read from `line` on."""
    inst = instance(
        file=CONF, line=line + 10,
        virtual_ipaddresses=(replace(vip("192.168.1.100/24"), file=CONF, line=line + 20),),
        track_scripts=(TrackScript("chk"),),
        notify_master=NotifyScript("/bin/true master", file=CONF, line=line + 12),
        notify=NotifyScript("/bin/true", file=CONF, line=line + 13),
    )
    script = VrrpScript("chk", "/bin/true", weight=-10, file=CONF, line=line)
    group = SyncGroup("G1", ("VI_1",), file=CONF, line=line + 30)
    return inst, script, group


def _master(inst, script, group) -> tuple[Engine, float, VrrpMachine]:
    """An engine running `inst` (tracking `script`, in `group`) that took over: (engine, now, its machine)."""
    engine = Engine(config(inst, scripts=(script,), sync_groups=(group,)), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    machine = engine.machine("VI_1")
    assert machine.state is State.MASTER
    return engine, now, machine


def test_a_master_that_only_moved_in_the_file_is_kept_by_a_reload() -> None:
    inst, script, group = _placed(1)
    engine, now, machine = _master(inst, script, group)

    moved, moved_script, moved_group = _placed(2)  # a comment line added at the top
    assert (moved.line, moved_script.line) != (inst.line, script.line)
    out = engine.reload(config(moved, scripts=(moved_script,), sync_groups=(moved_group,)), PRIMARY, now)

    assert engine.machine("VI_1") is machine and machine.state is State.MASTER
    assert not [o for o in out if isinstance(o, (StateChanged, RunNotify))], out
    assert not [o for o in out if isinstance(o, SendAdvert) and o.priority == 0], out  # no resign
    now, later = run(engine, now, now + 2.0)
    assert not [o for o in later if isinstance(o, StateChanged)], later


def test_objects_read_from_other_lines_are_equal_but_remember_where_they_were_read(tmp_path: Path) -> None:
    text = (
        'vrrp_script chk {\n  script "/bin/true"\n  weight -10\n}\n'
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 150\n"
        "  track_script {\n    chk\n  }\n"
        '  notify_master "/bin/true master"\n'
        "  virtual_ipaddress {\n    192.168.1.100/24\n  }\n"
        "  virtual_routes {\n    10.9.0.0/16 via 192.168.1.1\n  }\n}\n"
    )
    first, second = tmp_path / "a.conf", tmp_path / "b.conf"
    first.write_text(text)
    second.write_text("# a comment added at the top\n\n" + text)
    a, b = parse_config(str(first), check_interfaces=False), parse_config(str(second), check_interfaces=False)
    assert a.instances == b.instances and a.scripts == b.scripts
    (ia,), (ib,) = a.instances, b.instances
    assert (ia.file, ia.line + 2) == (str(first), ib.line) and ib.file == str(second)
    assert ib.notify_master is not None and ia.notify_master is not None
    assert ib.notify_master.line == ia.notify_master.line + 2
    assert hash(ia.virtual_ipaddresses[0]) == hash(ib.virtual_ipaddresses[0])
    assert {ia.virtual_routes[0], ib.virtual_routes[0]} == {ia.virtual_routes[0]}
    # anything else still counts
    assert replace(ia, priority=120) != ib


def test_a_master_whose_notify_lines_or_script_command_changed_is_kept_by_a_reload() -> None:
    # keepalived keeps such a master ("VRRP_Script(chk) considered successful on reload"); vrrptui resigned,
    # so the backup took over and handed back: two failovers for an edited notify line
    inst, script, group = _placed(1)
    engine, now, machine = _master(inst, script, group)
    edited = replace(inst, notify_master=NotifyScript("/bin/true other"), notify=None, debug=2,
                     notify_master_rx_lower_pri=NotifyScript("/bin/true lower"))
    new_script = replace(script, script="/usr/bin/true", interval=3.0, timeout=1.0, rise=2, fall=3, user="root")
    out = engine.reload(config(edited, scripts=(new_script,), sync_groups=(group,)), PRIMARY, now)
    assert engine.machine("VI_1") is machine and machine.state is State.MASTER
    assert machine.instance is edited and machine.tracking.instance is edited  # the new lines run from now on
    assert not [o for o in out if isinstance(o, (StateChanged, RunNotify))], out
    assert not [o for o in out if isinstance(o, SendAdvert) and o.priority == 0], out

    # what the machine itself runs on still restarts it: the script's weight, the instance's priority
    for changed in (config(edited, scripts=(replace(new_script, weight=-30),), sync_groups=(group,)),
                    config(replace(edited, priority=120), scripts=(new_script,), sync_groups=(group,))):
        out = engine.reload(changed, PRIMARY, now)
        assert engine.machine("VI_1") is not machine, changed
        machine = engine.machine("VI_1")
