"""keepalived's advanced syntax: @ID conditionals, $NAME definitions, ~SEQ/~LST, quoting and escapes."""

from __future__ import annotations

import textwrap

import pytest

from vrrptui.config.expand import Expander
from vrrptui.config.parser import parse_config
from vrrptui.config.tokens import Lexer


def expand(text: str, config_id: str = "main") -> list[tuple[int, str]]:
    errors: list[tuple[str, int, str]] = []
    lines = list(Expander(config_id, lambda f, n, m: errors.append((f, n, m))).lines(
        textwrap.dedent(text).splitlines(), "/etc/keepalived/keepalived.conf"))
    assert errors == []
    return [(n, line.strip()) for n, line in lines]


def test_conditionals_and_negated_conditionals():
    text = "@main router_id A\n@backup router_id B\n@^main x\n@^backup y\n"
    assert expand(text) == [(1, "router_id A"), (4, "y")]
    assert expand(text, "backup") == [(2, "router_id B"), (3, "x")]


def test_definitions_are_replaced_at_use_time_and_recursively():
    # keepalived.conf(5)'s own example.
    text = """\
        $ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}
        $ADDRESS_BASE_SUB=0
        ${ADDRESS_BASE}.100/32
        $ADDRESS_BASE_SUB=10
        ${ADDRESS_BASE}.100/32
        $P=240
        priority $P
        script "$UNDEFINED ${P}0"
        """
    assert expand(text) == [(3, "10.2.0.100/32"), (5, "10.2.10.100/32"), (7, "priority 240"),
                            (8, 'script "$UNDEFINED 2400"')]


def test_conditional_definitions_and_a_definition_holding_a_conditional():
    text = "@main $PRIO=240\n@backup $PRIO=200\npriority $PRIO\n$IF_MAIN=@main\n$IF_MAIN nopreempt\n"
    assert expand(text) == [(3, "priority 240"), (5, "nopreempt")]
    assert expand(text, "backup") == [(3, "priority 200")]


def test_multi_line_definition_expands_to_lines_at_the_use():
    text = """\
        $INSTANCE= \\
        vrrp_instance VI_${NUM} { \\
            @main priority 130 \\
            @backup priority 120 \\
        }
        $NUM=0
        $INSTANCE
        """
    assert expand(text) == [(7, "vrrp_instance VI_0 {"), (7, "priority 130"), (7, "}")]


def test_seq_seqx_and_lst():
    assert expand("~SEQ(SUBNET, 0, 3) ip 10.0.${SUBNET}.1\n") == [(1, f"ip 10.0.{i}.1") for i in range(4)]
    assert expand("~SEQx(S, 0x90, 0x10, 0xc0) fe80::${S}:1\n") == [
        (1, f"fe80::{h}:1") for h in ("90", "a0", "b0", "c0")]
    assert expand("~SEQ(N, 3) a$N\n") == [(1, "a1"), (1, "a2"), (1, "a3")]
    assert expand("~SEQ(N, 3, 1) b$N\n") == [(1, "b3"), (1, "b2"), (1, "b1")]
    assert expand("~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n") == [
        (1, "192.168.10.1"), (1, "192.170.10.1"), (1, "192.168.20.4"), (1, "192.170.20.4")]


def test_predefined_definitions():
    assert expand("${_PWD}/x ${_INSTANCE} a${_HASH}b c${_BANG}d\n") == [(1, "/etc/keepalived/x main a#b c!d")]
    ((_, value),) = expand("${_RANDOM 5 7}\n")
    assert value in ("5", "6", "7")


@pytest.mark.parametrize("text, message", [
    ("$A=x$A\n$A\n", "parameter substitution nests more than"),
    ("~SEQ(N, 1, 0, 3) x\n", "~SEQ step 0 never reaches the end"),
    ("~SEQ(N, one) x\n", "'one' in ~SEQ is not a whole number"),
    ("~SEQ(N, 1, 3 x\n", "has no closing ')'"),
])
def test_bad_expansions_are_errors_at_their_line(tmp_path, text, message):
    path = tmp_path / "k.conf"
    path.write_text("! first\n" + text)
    lexer = Lexer("main")
    lexer.tokens(str(path))
    (d,) = lexer.diagnostics
    assert (d.line, d.severity) == (text.count("\n") + 1 if "$A" in text else 2, "error") and message in d.message


def test_quoting_and_escapes_as_keepalived_conf_5(tmp_path):
    path = tmp_path / "k.conf"
    path.write_text("""a abcd" efg h jkl "mnop 'x y' "t\\tu\\x41\\101\\cA\\"q" \\#lit "#in" ! gone\n""")
    words = [t.text for t in Lexer("main").tokens(str(path))]
    assert words == ["a", "abcd efg h jkl mnop", "x y", 't\tuAA\x01"q', "#lit", "#in"]


def test_whole_config_with_definitions_and_sequences(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(textwrap.dedent("""\
        $IF=eth0
        $VI= \\
        vrrp_instance VI_${N} { \\
          interface $IF \\
          virtual_router_id ${N} \\
          @r1 priority 200 \\
          virtual_ipaddress { 10.0.${N}.1/24 } \\
        }
        ~SEQ(N, 1, 3) $VI
        """))
    config = parse_config(str(path), config_id="r1", existing_interfaces={"eth0"})
    assert [(i.name, i.vrid, i.priority, str(i.virtual_ipaddresses[0])) for i in config.instances] == [
        (f"VI_{n}", n, 200, f"10.0.{n}.1/24") for n in (1, 2, 3)]
    assert {i.line for i in config.instances} == {9}
