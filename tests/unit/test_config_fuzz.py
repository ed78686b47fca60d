"""A fuzz of the configuration reader (hypothesis): whatever a keepalived.conf holds, it is accepted or
refused with `file:line: error:` lines, never a traceback, and what is accepted can start.

The inputs are the configs shipped in configs/ and one that uses every kind of section, each mutated a
few times (lines dropped, doubled or cut, words replaced by keywords from the keyword tables, extreme
numbers, odd addresses, braces, quotes, control and non-UTF-8 bytes, includes, `$VAR`, `~SEQ`, `@id`),
plus token soup built from the same words. For each one:

- `parse_config` returns a Config or raises ConfigError, whose every diagnostic is one printable line of
  bounded length (model.MAX_MESSAGE) naming a line within the file, with at least one error;
- `--check` answers 0 or 2 (never a traceback) and prints only printable lines;
- an accepted config starts: the sans-I/O engine is built and driven through its timers, the `--check`
  table renders, the receive sockets are planned, every script command splits, and what the kernel
  would refuse later (an interface name or a VIP label over 15 bytes, a NUL in a script) is not there.
"""

from __future__ import annotations

import dataclasses
import io
import ipaddress
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vrrptui.config import check
from vrrptui.config.instance import VIP_SCOPES
from vrrptui.config.keywords import SECTIONS, TOP
from vrrptui.config.model import MAX_MESSAGE, Config, ConfigError, Diagnostic, NotifyScript, shown
from vrrptui.config.parser import parse_config
from vrrptui.daemon.scriptsec import split_command
from vrrptui.daemon.sockpool import receive_keys
from vrrptui.engine.engine import Engine

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
IFACES = {"eth0", "eth1", "enp0s4", "ens3", "br0", "bond0", "wlan0"}
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EVERY_SECTION = """\
@fuzz $IF=eth0
global_defs {
  router_id r1
  vrrp_version 3
  script_user nobody
  enable_script_security
  vrrp_garp_master_delay 1
  vrrp_startup_delay 0
}
$VIP=192.0.2.100/24
vrrp_script chk {
  script "/bin/true -x 'two words'"
  interval 2
  timeout 1
  rise 2
  fall 3
  weight -20
}
track_file tf {
  file /run/vrrptui-fuzz-track
  weight 10
}
vrrp_track_process tp {
  process sshd
  quorum 1
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_6
  }
  notify_master "/bin/echo master"
}
static_ipaddress {
  198.51.100.1/32 dev eth1
}
static_routes {
  203.0.113.0/24 via 192.0.2.254 dev $IF table 100 metric 10 protocol static
}
static_rules {
  from 192.0.2.0/24 table 100 priority 1000 fwmark 0x10/0xff iif eth0
}
vrrp_instance VI_1 {
  state BACKUP
  interface $IF
  virtual_router_id 51
  priority 150
  advert_int 0.1
  nopreempt
  preempt_delay 2
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
    192.0.2.3 min_ttl 250
  }
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    $VIP dev $IF label eth0:vip
    192.0.2.101 brd 192.0.2.255 scope global
    192.0.2.102/24 brd + scope 200
  }
  virtual_ipaddress_excluded {
    192.0.2.150
  }
  track_interface {
    eth1 weight -10
  }
  track_script {
    chk
  }
  track_file {
    tf weight 2
  }
  track_process {
    tp
  }
  notify "/bin/echo notify" root
  notify_master /bin/true
  use_vmac vrrp.51
  garp_master_refresh 10
  virtual_routes {
    198.51.100.0/24 via 192.0.2.254 metric 5
  }
  virtual_rules {
    from 192.0.2.100 table 200
  }
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  virtual_ipaddress {
    2001:db8::100/64
  }
~SEQ(n,1,2)
  track_interface { eth$n }
}
"""

SEEDS = [EVERY_SECTION.encode(), *(p.read_bytes() for p in sorted(CONFIGS.glob("*.conf")))]
KEYWORDS = sorted({*TOP, *(k for table in SECTIONS.values() for k in table)})
ODD_WORDS = [
    "{", "}", "{}", "!", "#", '"', "'", '"unterminated', "''", "@fuzz", "@other", "@^fuzz", "$IF", "$UNDEFINED",
    "$(x)", "$X=", "~SEQ(i,1,3)", "~SEQ(i,3,1)", "~SEQ(i,0,3000)", "~LST(a,b)", "include", "include *",
    "include inc.conf", "include /dev/zero", "include ../inc.conf", "-1", "0", "1", "255", "256", "65536",
    "4294967296", "99999999999999999999999", "1e400", "-1e400", "nan", "inf", "0x10", "1.5", "0.001", "1e-9",
    "10.0.0.1", "10.0.0.1/33", "10.0.0.1/-1", "256.1.1.1", "0.0.0.0", "255.255.255.255", "224.0.0.18",
    "::", "::1/129", "fe80::1%eth0", "2001:db8::1/64", "ff02::12", "dev", "eth0", "eth0:x", "label",
    "x" * 15, "y" * 16, "z" * 300, "a\x00b", "\x1b[2J", "\x7f", "\t", "\r", "\\", "é", "p€ss", "ü" * 8,
    "\u009b2J", "\u202eevil", "zero\u200bwidth", "\ufeff", '"a\\x00b"', '"/bin/x\\000.sh"', '"\\x100"', '"\\E[2J"',
    '"\\377"', '"\\n"', '"\\"', '"/bin/echo \\"quoted arg\\""', "'/bin/sh -c x'",
    "/bin/true", "/nonexistent/script", "root", "nobody", "MASTER", "BACKUP", "FAULT", "PASS", "AH",
    "weight", "reverse", "min_ttl", "max_ttl", "brd", "scope", "table", "via", "from", "to", "not",
]
NOT_UTF8 = [b"\xe9", b"\xff\xfe", b"caf\xe9", b"\x80\x80", b"\xc3"]  # latin-1 text, a cut UTF-8 sequence
ODD_BYTES = [w.encode() for w in ODD_WORDS] + NOT_UTF8
WORDS = [w.encode() for w in KEYWORDS] + ODD_BYTES


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed config with a few of its lines dropped, doubled, swapped, cut or given other words."""
    lines = draw(st.sampled_from(SEEDS)).split(b"\n")
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "double", "swap", "cut", "word", "value", "insert", "bytes"]))
        if action == "drop":
            del lines[i]
        elif action == "double":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "cut":
            lines[i] = lines[i][:draw(st.integers(0, len(lines[i])))]
        elif action == "word":
            words = lines[i].split() or [b""]
            words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(WORDS))
            lines[i] = b" ".join(words)
        elif action == "value":  # the value of a `keyword value` line: where paths, names and numbers go
            words = lines[i].split() or [b""]
            words[-1] = draw(st.sampled_from(ODD_BYTES))
            lines[i] = b" ".join(words)
        elif action == "insert":
            lines.insert(i, b" ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))))
        else:
            lines[i] += draw(st.binary(max_size=12))
        if not lines:
            lines = [b""]
    return b"\n".join(lines)


@st.composite
def soup(draw: st.DrawFn) -> bytes:
    """Words of keepalived.conf in any order, in lines."""
    lines = draw(st.lists(st.lists(st.sampled_from(WORDS), max_size=6), max_size=30))
    return b"\n".join(b" ".join(line) for line in lines)


def _one_plain_line(d: Diagnostic) -> bool:
    text = str(d)
    return text.isprintable() and len(text) <= len(shown(d.file)) + 30 + MAX_MESSAGE


def _assert_refused_well(exc: ConfigError, files: set[str]) -> None:
    assert any(d.severity == "error" for d in exc.diagnostics), exc.diagnostics
    for d in exc.diagnostics:
        text = str(d)
        assert _one_plain_line(d), repr(text)[:300]
        assert d.line >= 0
        if d.line > 0 and d.file in files:
            assert d.line <= Path(d.file).read_bytes().count(b"\n") + 1, text


def _strings(value: object) -> Iterator[str]:
    """Every string in a config's dataclasses, tuples and dicts."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)


def _assert_starts(config: Config) -> None:
    """What a start does with a config before the network: engine, --check table, sockets, scripts."""
    for text in _strings(dataclasses.replace(config, warnings=())):
        assert "\x00" not in text, text  # no path, argument or name can hold a NUL
    primaries = {inst.name: ipaddress.ip_address("192.0.2.9" if inst.family == 4 else "fe80::9")
                 for inst in config.instances}
    engine = Engine(config, primaries)
    engine.start(0.0)
    now = 0.0
    for _ in range(5):
        deadline = engine.get_timer()
        if deadline is None:
            break
        now = max(now, deadline)
        engine.handle_timer(now)
    engine.status(now)
    rows = [check.instance_row(inst, config) for inst in config.instances]
    check.render_table(check.HEADERS, rows)
    receive_keys(config.instances)
    for inst in config.instances:
        for name in (inst.interface, inst.vmac_interface if inst.use_vmac else None,
                     *(t.name for t in inst.track_interfaces), *(v.dev for v in inst.all_vips)):
            assert name is None or 0 < len(name.encode()) <= 15, name
        for vip in inst.all_vips:
            assert vip.label is None or len(vip.label.encode()) <= 15, vip.label
            assert vip.scope is None or vip.scope in VIP_SCOPES or 0 <= int(vip.scope) <= 255, vip.scope  # a u8
            assert vip.brd in (None, "+", "-") or ipaddress.IPv4Address(vip.brd), vip.brd
        for notify in (getattr(inst, f) for f in dir(inst) if f.startswith("notify")):
            if isinstance(notify, NotifyScript):
                assert "\x00" not in notify.command
                notify.argv  # noqa: B018 - splitting must not raise
                split_command(notify.command)
    for script in config.scripts:
        assert "\x00" not in script.script
        split_command(script.script)
    routes = [*config.static_routes, *(route for inst in config.instances for route in inst.virtual_routes)]
    rules = [*config.static_rules, *(rule for inst in config.instances for rule in inst.virtual_rules)]
    for entry, fields in [*((r, ("table", "metric")) for r in routes), *((r, ("table", "priority", "fwmark",
                                                                                "fwmask")) for r in rules)]:
        for name in fields:  # what the rtnetlink message carries as a u32
            assert getattr(entry, name) is None or 0 <= getattr(entry, name) < 2**32, entry
    for route in routes:
        assert route.protocol is None or 0 <= route.protocol <= 255, route


def _fuzz_one(text: bytes, include: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="vrrptui-fuzz-") as tmp:
        main, inc = Path(tmp) / "keepalived.conf", Path(tmp) / "inc.conf"
        main.write_bytes(text)
        inc.write_bytes(include)
        files = {str(main), str(inc)}
        try:
            config = parse_config(str(main), config_id="fuzz", existing_interfaces=IFACES)
        except ConfigError as exc:
            _assert_refused_well(exc, files)
        else:
            for d in config.warnings:
                assert _one_plain_line(d), repr(str(d))[:300]
            _assert_starts(config)
        out, err = io.StringIO(), io.StringIO()
        assert check.main([str(main), "-i", "fuzz"], stdout=out, stderr=err) in (check.EXIT_OK, check.EXIT_INVALID)
        for line in (out.getvalue() + err.getvalue()).splitlines():
            assert line.isprintable(), repr(line)[:200]


@FUZZ
@given(mutated(), st.one_of(st.just(b""), mutated(), soup()))
def test_a_mutated_config_is_accepted_and_starts_or_is_refused_with_file_and_line(text, include):
    _fuzz_one(text, include)


@FUZZ
@given(soup(), st.one_of(st.just(b""), soup()))
def test_keyword_soup_is_accepted_and_starts_or_is_refused_with_file_and_line(text, include):
    _fuzz_one(text, include)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_or_accepted_never_a_traceback(text):
    _fuzz_one(text, b"")


def test_every_seed_is_accepted_as_written():
    """The seeds themselves are good configs: a mutation then explores around something that runs."""
    with tempfile.TemporaryDirectory(prefix="vrrptui-fuzz-") as tmp:
        for n, seed in enumerate(SEEDS):
            path = Path(tmp) / f"seed{n}.conf"
            path.write_bytes(seed)
            config = parse_config(str(path), config_id="fuzz", existing_interfaces=IFACES | {"eth2"})
            assert config.instances, n
            _assert_starts(config)
