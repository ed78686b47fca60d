"""vrrp_track_process: parsing, matching against /proc, quorum and delays."""

from __future__ import annotations

from vrrptui.config.model import TrackProcess, TrackProcessDef
from vrrptui.config.parser import parse_config
from vrrptui.daemon import processes
from vrrptui.daemon.processes import ProcessWatch, matches
from vrrptui.config.model import Config
from vrrptui.engine.tracking import Tracker

CONF = """\
vrrp_track_process haproxy {
  process haproxy
  weight -20
  quorum 2
  quorum_max 4
  delay 0.5
}
vrrp_track_process nginx {
  process "/usr/sbin/nginx" -c /etc/nginx.conf
  param_match partial
  weight 10 reverse
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  track_process {
    haproxy
    nginx
    nginx weight 0 reverse
    missing
  }
  virtual_ipaddress { 10.0.0.1 }
}
"""


def test_definitions_and_entries(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    config = parse_config(str(path), check_interfaces=False)
    assert config.instances[0].track_processes == (
        TrackProcess("haproxy", -20), TrackProcess("nginx", 10, True), TrackProcess("nginx", 0, True))
    haproxy, nginx = config.track_processes
    assert (haproxy.quorum, haproxy.quorum_max, haproxy.fork_delay, haproxy.terminate_delay) == (2, 4, 0.5, 0.5)
    assert (nginx.process, nginx.params, nginx.param_match) == ("/usr/sbin/nginx", ("-c", "/etc/nginx.conf"),
                                                                "partial")
    (warning,) = config.warnings
    assert warning.message.startswith("track_process 'missing' is not defined: keepalived ignores this tracker")


def test_matching_is_exact_on_the_name_or_the_command_line():
    plain = TrackProcessDef("p", "ssh")
    assert matches(plain, "ssh", ()) and not matches(plain, "sshd", ())
    assert matches(TrackProcessDef("p", "averyveryverylongname"), "averyveryverylo", ())
    partial = TrackProcessDef("p", "/bin/app", ("-c", "x"), "partial")
    assert matches(partial, "app", ("/bin/app", "-c", "x", "-v")) and not matches(partial, "app", ("/bin/app", "-c"))
    initial = TrackProcessDef("p", "/bin/app", ("-c", "/etc/a"), "initial")
    assert matches(initial, "app", ("/bin/app", "-c", "/etc/app.conf"))
    exact = TrackProcessDef("p", "/bin/app", (), "partial")
    assert matches(exact, "app", ("/bin/app", "anything"))
    assert not matches(TrackProcessDef("p", "/bin/app", ("-x",)), "app", ("/bin/app", "-x", "-y"))


def test_quorum_and_delays(monkeypatch):
    seen: list[tuple[str, bool]] = []
    running = [("haproxy", ())]
    monkeypatch.setattr(processes, "running", lambda need_cmdline=False: list(running))
    now = [0.0]
    watch = ProcessWatch(lambda n, ok: seen.append((n, ok)), lambda line: None, clock=lambda: now[0])
    watch.replace(Config("x", track_processes=(TrackProcessDef("hp", "haproxy", quorum=2, fork_delay=1.0),)))
    assert seen == [("hp", False)]  # one of two: quorum not met, reported at once at start-up
    running.append(("haproxy", ()))
    watch.scan()
    now[0] = 0.5
    watch.scan()
    assert seen == [("hp", False)]  # held back by fork_delay
    now[0] = 1.1
    watch.scan()
    assert seen == [("hp", False), ("hp", True)]


def test_reversed_process_tracker():
    # weight 10 reverse: 10 subtracted while the quorum is met
    t = Tracker("process", "p", -10, up=False, reverse=True)
    assert t.contribution == -10
