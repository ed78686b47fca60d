"""A master hearing a lower-priority master (keepalived's garp_lower_prio_*, lower_prio_no_advert,
higher_prio_send_advert, notify_master_rx_lower_pri): config defaults and the engine's answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_machine import actions, advert_for, as_master, instance, logs

from vrrptui.config.parser import parse_config
from vrrptui.engine.outputs import LowerPriorityGratuitous, RemoveVips, RunNotify, SendAdvert, State


def parsed(tmp_path: Path, top: str = "", inside: str = ""):
    conf = tmp_path / "keepalived.conf"
    conf.write_text(f"{top}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  {inside}\n"
                    f"  virtual_ipaddress {{\n    192.0.2.1/24\n  }}\n}}\n")
    return parse_config(str(conf), check_interfaces=False).instances[0]


def test_defaults_follow_keepalived_global_garp_master_values(tmp_path):
    inst = parsed(tmp_path)
    assert (inst.garp_lower_prio_repeat, inst.garp_lower_prio_delay) == (5, 5.0)
    # vrrptui's one difference: higher_prio_send_advert on unless set (keepalived: off)
    assert (inst.lower_prio_no_advert, inst.higher_prio_send_advert, inst.notify_master_rx_lower_pri) == (
        False, True, None)
    # the global garp_master_* set the default, the instance's own garp_master_* do not
    inst = parsed(tmp_path, "global_defs {\n  vrrp_garp_master_repeat 2\n  vrrp_garp_master_delay 7\n}",
                  "garp_master_repeat 9")
    assert (inst.garp_lower_prio_repeat, inst.garp_lower_prio_delay) == (2, 7.0)
    inst = parsed(tmp_path, "global_defs {\n  vrrp_garp_lower_prio_repeat 1\n  vrrp_garp_lower_prio_delay 0\n"
                            "  vrrp_lower_prio_no_advert\n  vrrp_higher_prio_send_advert true\n}")
    assert (inst.garp_lower_prio_repeat, inst.garp_lower_prio_delay) == (1, 0.0)
    assert (inst.lower_prio_no_advert, inst.higher_prio_send_advert) == (True, True)


def test_instance_values_and_strict_mode(tmp_path):
    inst = parsed(tmp_path, inside="garp_lower_prio_repeat 3\n  garp_lower_prio_delay 2\n  lower_prio_no_advert false"
                                   "\n  notify_master_rx_lower_pri /usr/local/bin/reclaim.sh")
    assert (inst.garp_lower_prio_repeat, inst.garp_lower_prio_delay, inst.lower_prio_no_advert) == (3, 2.0, False)
    assert inst.notify_master_rx_lower_pri.command == "/usr/local/bin/reclaim.sh"
    strict = parsed(tmp_path, "global_defs {\n  vrrp_strict\n}")
    assert (strict.garp_lower_prio_repeat, strict.garp_lower_prio_delay, strict.lower_prio_no_advert) == (0, 0.0, True)
    assert strict.higher_prio_send_advert is False
    assert parsed(tmp_path, inside="higher_prio_send_advert off").higher_prio_send_advert is False
    own_strict = parsed(tmp_path, inside="strict_mode\n  garp_lower_prio_repeat 3")
    assert (own_strict.garp_lower_prio_repeat, own_strict.higher_prio_send_advert) == (0, False)


@pytest.mark.parametrize("keyword", ["garp_lower_prio_repeat 1", "lower_prio_no_advert", "higher_prio_send_advert",
                                     "notify_master_rx_lower_pri /bin/true"])
def test_keywords_are_acted_on_not_reported_as_ignored(tmp_path, keyword):
    conf = tmp_path / "keepalived.conf"
    conf.write_text(f"vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  {keyword}\n"
                    f"  virtual_ipaddress {{\n    192.168.1.100/24\n  }}\n}}\n")
    assert parse_config(str(conf), check_interfaces=False).warnings == ()


def test_lower_prio_no_advert_refreshes_arp_without_answering():
    clock = as_master(instance(priority=101, lower_prio_no_advert=True, garp_lower_prio_repeat=1))
    out = clock.receive(advert_for(clock.m, 100))
    assert actions(out) == [LowerPriorityGratuitous("VI_1"), RunNotify("VI_1", "MASTER_RX_LOWER_PRI", 101)]
    assert logs(out) == ["(VI_1) Received advert from 192.168.1.12 with lower priority 100, ours 101"]


def test_garp_lower_prio_repeat_zero_sends_no_gratuitous():
    clock = as_master(instance(priority=101, garp_lower_prio_repeat=0))
    out = clock.receive(advert_for(clock.m, 100))
    assert actions(out) == [SendAdvert("VI_1", 101), RunNotify("VI_1", "MASTER_RX_LOWER_PRI", 101)]


def test_higher_prio_send_advert_advertises_once_as_it_steps_down():
    clock = as_master(instance(priority=100, higher_prio_send_advert=True))
    out = clock.receive(advert_for(clock.m, 150))
    assert actions(out)[:2] == [RemoveVips("VI_1"), SendAdvert("VI_1", 100)]  # the winner holds the VIPs already
    assert clock.m.state is State.BACKUP
    plain = as_master(instance(priority=100, higher_prio_send_advert=False))
    assert SendAdvert("VI_1", 100) not in actions(plain.receive(advert_for(plain.m, 150)))  # keepalived's default
