"""Every file in configs/ parses, with the values its seed document wrote."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from vrrptui.config.model import Authentication, TrackScript, UnicastPeer
from vrrptui.config.parser import parse_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ALL_CONFIGS = sorted(CONFIGS.glob("*.conf"))
ip = ipaddress.ip_address


def load(name: str):
    return parse_config(str(CONFIGS / name), existing_interfaces={"enp0s4", "ens3", "ens18", "ens192", "eth0",
                                                                  "keepalived6", "lo"})


def test_there_is_one_config_per_seed_router():
    assert len(ALL_CONFIGS) >= 11


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=lambda p: p.name)
def test_every_config_parses_without_errors(path: Path):
    config = parse_config(str(path), check_interfaces=False)
    assert config.instances
    assert config.files == (str(path),)


@pytest.mark.parametrize("name, src, peer, state, priority", [
    ("dent2.conf", "192.168.1.11", "192.168.1.12", "MASTER", 101),
    ("dent3.conf", "192.168.1.12", "192.168.1.11", "BACKUP", 100),
])
def test_dent_pair(name, src, peer, state, priority):
    config = load(name)
    (vi,) = config.instances
    assert (vi.name, vi.interface, vi.vrid, vi.priority, vi.initial_state) == ("VI_1", "enp0s4", 150, priority, state)
    assert (vi.version, vi.family, vi.advert_int) == (2, 4, 1.0)
    assert vi.unicast_src_ip == ip(src)
    assert vi.unicast_peers == (UnicastPeer(ip(peer)),)
    assert vi.authentication == Authentication("PASS", "1212")
    assert [str(v) for v in vi.virtual_ipaddresses] == ["192.168.1.13/24"]
    assert config.warnings == ()


@pytest.mark.parametrize("name, src, peer, priority", [
    ("ha_first.conf", "10.200.51.32", "10.200.51.33", 200),
    ("ha_second.conf", "10.200.51.33", "10.200.51.32", 100),
])
def test_openstack_pair_both_master_with_vmac(name, src, peer, priority):
    config = load(name)
    (vi,) = config.instances
    assert (vi.name, vi.interface, vi.vrid, vi.priority, vi.initial_state) == ("vrrp_1", "ens3", 1, priority, "MASTER")
    assert vi.use_vmac and vi.vmac_xmit_base and vi.vmac_name is None
    assert vi.vmac_interface == "vrrp.1" and vi.vmac_address == "00:00:5e:00:01:01"
    assert vi.debug == 2
    assert (vi.unicast_src_ip, vi.unicast_src_dev) == (ip(src), "ens3")
    assert vi.unicast_peers == (UnicastPeer(ip(peer), "ens3"),)
    assert vi.authentication is None
    assert [str(v) for v in vi.virtual_ipaddresses] == ["10.200.51.10/32"]
    assert config.warnings == ()


@pytest.mark.parametrize("name, src, peers, state, priority", [
    ("postgres01.conf", "10.0.1.62", ["10.0.1.63", "10.0.1.64"], "MASTER", 255),
    ("postgres02.conf", "10.0.1.63", ["10.0.1.62", "10.0.1.64"], "BACKUP", 254),
    ("postgres03.conf", "10.0.1.64", ["10.0.1.62", "10.0.1.63"], "BACKUP", 253),
])
def test_postgres_trio(name, src, peers, state, priority):
    config = load(name)
    (vi,) = config.instances
    assert (vi.name, vi.interface, vi.vrid, vi.priority, vi.initial_state) == ("Postgres_VIP", "ens18", 51, priority,
                                                                               state)
    assert vi.owner is (priority == 255)
    assert vi.unicast_src_ip == ip(src)
    assert [p.address for p in vi.unicast_peers] == [ip(p) for p in peers]
    # `auth_pass PostgresReplication` is kept as the seed wrote it: truncated to 8 with a warning.
    assert vi.authentication == Authentication("PASS", "Postgres")
    assert [str(v) for v in vi.virtual_ipaddresses] == ["10.0.2.100/8"]
    (warning,) = config.warnings
    assert "auth_pass is 19 bytes" in warning.message and warning.severity == "warning"


def test_servercenter_tracks_apiserver_script():
    config = load("servercenter.conf")
    script = config.script("apiserver")
    assert script.script == "/usr/bin/curl -s -k https://localhost:6443/healthz -o /dev/null"
    assert (script.interval, script.timeout, script.rise, script.fall, script.user, script.weight) == (
        5.0, 2.0, 5, 2, "root", 0)
    assert (script.file, script.line) == (str(CONFIGS / "servercenter.conf"), 3)
    vi = config.instance("ServerCenter")
    assert (vi.interface, vi.vrid, vi.priority, vi.initial_state) == ("ens192", 55, 30, "MASTER")
    assert vi.track_scripts == (TrackScript("apiserver"),)
    assert [p.address for p in vi.unicast_peers] == [ip("10.0.1.4"), ip("10.0.1.51")]
    assert vi.authentication == Authentication("PASS", "svcentPa")
    assert [str(v) for v in vi.virtual_ipaddresses] == ["10.0.0.191/22"]


def test_gateway1_multicast_is_v3_ipv6_with_corrected_vip():
    (vi,) = load("gateway1-multicast.conf").instances
    assert (vi.name, vi.interface, vi.vrid, vi.priority, vi.initial_state) == ("gateway1", "eth0", 12, 101, "BACKUP")
    assert (vi.version, vi.family, vi.unicast) == (3, 6, False)
    assert [str(v) for v in vi.virtual_ipaddresses] == ["2001:db8::ff/64"]
    assert vi.vmac_address == "00:00:5e:00:02:0c"


def test_gateway1_unicast_peers_and_vip_on_lo():
    (vi,) = load("gateway1-unicast.conf").instances
    assert (vi.version, vi.family) == (3, 6)
    assert [p.address for p in vi.unicast_peers] == [ip("2001:db8::11"), ip("2001:db8::12")]
    (vip,) = vi.virtual_ipaddresses
    assert (str(vip), vip.dev) == ("2001:db8::ff/64", "lo")


def test_gateway1_vxlan_multicast_source():
    (vi,) = load("gateway1-vxlan.conf").instances
    assert (vi.interface, vi.mcast_src_ip, vi.unicast) == ("keepalived6", ip("2001:db8::10"), False)


@pytest.mark.parametrize("name, src, peer, state, priority", [
    ("astlinux-master.conf", "10.10.50.62", "10.10.50.65", "MASTER", 100),
    ("astlinux-backup.conf", "10.10.50.65", "10.10.50.62", "BACKUP", 99),
])
def test_astlinux_pair(name, src, peer, state, priority):
    config = load(name)
    g = config.global_defs
    assert (g.router_id, g.enable_script_security, g.script_user, g.script_group, g.vrrp_check_unicast_src) == (
        "ASTLINUX", True, "root", "root", True)
    (vi,) = config.instances
    assert (vi.interface, vi.vrid, vi.priority, vi.initial_state, vi.advert_int) == ("eth0", 50, priority, state, 1.0)
    assert (vi.unicast_src_ip, vi.unicast_peers) == (ip(src), (UnicastPeer(ip(peer)),))
    (vip,) = vi.virtual_ipaddresses
    assert (str(vip), vip.dev, vip.label) == ("10.10.50.244/32", "eth0", "eth0:10")
    assert config.warnings == ()
