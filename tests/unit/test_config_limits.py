"""Configuration limits (checked before anything starts), each an error with file:line."""

from __future__ import annotations

import io
import ipaddress
import os
from pathlib import Path

import pytest

from vrrptui.config import check, tokens
from vrrptui.config.model import MAX_MESSAGE, ConfigError
from vrrptui.config.parser import parse_config
from vrrptui.engine.engine import Engine

VI = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress { 10.0.0.1 }\n}\n"


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(str(path), existing_interfaces={"eth0"})
    return [str(d) for d in exc.value.diagnostics if d.severity == "error"]


def test_deep_braces_are_an_error_not_a_recursion_error(tmp_path):
    path = tmp_path / "k.conf"
    path.write_text(VI + "virtual_server 10.0.0.1 80 " + "x {\n" * 10_000 + "}\n" * 10_000)
    (error,) = errors(path)
    assert error.startswith(f"{path}:21: error: blocks nest more than 16 deep here")


def test_include_depth_and_file_count(tmp_path):
    for level in range(12):
        (tmp_path / f"l{level}.conf").write_text(f"include l{level + 1}.conf\n")
    (tmp_path / "l12.conf").write_text(VI)
    (error,) = errors(tmp_path / "l0.conf")
    assert error.startswith(f"{tmp_path / 'l8.conf'}:1: error: includes nest more than 8 levels deep")

    fan = tmp_path / "fan"
    fan.mkdir()
    for n in range(tokens.MAX_FILES + 5):
        (fan / f"{n:05}.conf").write_text("! empty\n")
    main = tmp_path / "fan.conf"
    main.write_text(VI + "include fan/*.conf\n")
    assert any(f"more than {tokens.MAX_FILES} configuration files are included" in e for e in errors(main))


def test_total_size_line_length_and_control_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(tokens, "MAX_TOTAL_BYTES", 4096)
    big = tmp_path / "big.conf"
    big.write_text(VI + ("! padding\n" * 500))
    assert errors(big) == [f"{big}: error: the configuration (with its includes) is over 0 MiB: vrrptui reads at "
                           f"most that much; split out or remove what is not needed"]
    monkeypatch.undo()

    long = tmp_path / "long.conf"
    long.write_text(VI + "global_defs {\n  router_id " + "x" * 10_000 + "\n}\n")
    assert errors(long) == [f"{long}:7: error: line is 10,012 characters long, over the limit of 8,192: shorten it"]

    nul = tmp_path / "nul.conf"
    nul.write_text(VI.replace("virtual_ipaddress", "notify_master \"/bin/x\x00.sh\"\n  virtual_ipaddress"))
    assert errors(nul) == [f"{nul}:4: error: control byte 0x00 at column 24: remove it (keepalived.conf is text)"]


def test_word_count_is_bounded_across_includes_and_expansions(tmp_path, monkeypatch):
    # 16 MiB of one-letter words would be 8 million tokens (over 1 GB); the count stops reading at the limit.
    monkeypatch.setattr(tokens, "MAX_WORDS", 30)
    (tmp_path / "inc.conf").write_text("$W\n$W\n$W\n")
    main = tmp_path / "main.conf"
    main.write_text("$W=a b c d e f g h\n" + VI + "include inc.conf\n$W\n" * 10)
    (error,) = errors(main)
    assert error == (f"{tmp_path / 'inc.conf'}:3: error: the configuration (with its includes and expansions) has "
                     f"over 30 words: vrrptui reads at most that many; split out or remove what is not needed")

    monkeypatch.setattr(tokens, "MAX_WORDS", 1000)
    assert len(parse_config(str(main), existing_interfaces={"eth0"}).instances) == 1


def test_crlf_line_ends_are_fine(tmp_path):
    path = tmp_path / "crlf.conf"
    path.write_bytes(VI.replace("\n", "\r\n").encode())
    assert len(parse_config(str(path), existing_interfaces={"eth0"}).instances) == 1


def test_a_fifo_as_the_configuration_does_not_hang(tmp_path):
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)
    (error,) = errors(fifo)
    assert error.startswith(f"{fifo}: error: not a regular file") or "not a regular file" in error


@pytest.mark.parametrize("line, at, message", [
    ("  interface averyveryverylongname0\n", 2, "interface 'averyveryverylongname0' is not a Linux interface name"),
    ("  interface eth0\n  track_interface {\n    averyveryverylongname0\n  }\n", 4,  # found by the fuzz
     "track_interface 'averyveryverylongname0' is not a Linux interface name"),
])
def test_interface_names(tmp_path, line, at, message):
    path = tmp_path / "k.conf"
    path.write_text(VI.replace("  interface eth0\n", line))
    assert any(f"{path}:{at}: error: {message}" in e for e in errors(path))


def test_vip_label_longer_than_the_kernel_takes(tmp_path):
    path = tmp_path / "k.conf"
    path.write_text(VI.replace("{ 10.0.0.1 }", "{ 10.0.0.1 label eth0:abcdefghijklmnopqrstuvwxyz01 }"))
    (error,) = errors(path)
    assert error.startswith(f"{path}:4: error: label 'eth0:abcdefghijklmnopqrstuvwxyz01' is longer than 15 bytes")


def test_a_byte_that_is_not_utf8_is_an_error_in_a_value_and_fine_in_a_comment(tmp_path):
    """Found by the fuzz (test_config_fuzz.py): such a byte was read as U+FFFD and reached the daemon."""
    path = tmp_path / "latin1.conf"
    latin1 = VI.replace("  interface eth0\n", "  ! r\xe9seau du bureau\n  interface eth\xe9\n")
    path.write_bytes(latin1.encode("latin-1"))
    assert errors(path) == [f"{path}:3: error: byte 0xe9 at column 16 is not UTF-8: save the file as UTF-8 "
                            f"(keepalived.conf is text)"]
    path.write_bytes(VI.replace("  interface eth0\n", "  interface eth0 ! r\xe9seau\n").encode("latin-1"))
    assert len(parse_config(str(path), existing_interfaces={"eth0"}).instances) == 1


def test_auth_pass_is_the_bytes_written_cut_to_8_as_keepalived_sends_them(tmp_path):
    """Found by the fuzz: a password with a character beyond latin-1 passed --check and stopped the daemon at
    start (UnicodeEncodeError building the first advert); `é` went out as one byte where keepalived sends two."""
    path = tmp_path / "auth.conf"
    for written, octets, warning in [("p€ss", b"p\xe2\x82\xacss", None), ("café", b"caf\xc3\xa9", None),
                                     ("abcdefg€", b"abcdefg\xe2", "auth_pass is 10 bytes")]:
        auth = f"  authentication {{\n    auth_type PASS\n    auth_pass {written}\n  }}\n"
        path.write_text(VI.replace("  virtual_ipaddress", auth + "  virtual_ipaddress"), encoding="utf-8")
        config = parse_config(str(path), existing_interfaces={"eth0"})
        assert [w.message.split(";")[0] for w in config.warnings] == ([warning] if warning else [])
        engine = Engine(config, {"VI_1": ipaddress.IPv4Address("10.0.0.2")})
        engine.start(0.0)
        assert engine.machine("VI_1").advert().auth_data == octets.ljust(8, b"\0")


def test_names_the_kernel_takes_are_counted_in_bytes(tmp_path):
    path = tmp_path / "names.conf"
    path.write_text(VI.replace("{ 10.0.0.1 }", "{ 10.0.0.1 label eth0:" + "ü" * 5 + " }"), encoding="utf-8")
    (vip,) = parse_config(str(path), existing_interfaces={"eth0"}).instances[0].virtual_ipaddresses
    assert vip.label == "eth0:üüüüü"  # 10 characters, 15 bytes: the kernel takes it
    path.write_text(VI.replace("{ 10.0.0.1 }", "{ 10.0.0.1 label eth0:" + "ü" * 6 + " }"), encoding="utf-8")
    (error,) = errors(path)  # 11 characters, 17 bytes
    assert f"{path}:4: error: label 'eth0:üüüüüü' is longer than 15 bytes" in error


def test_what_cannot_be_printed_is_escaped_in_every_message(tmp_path):
    """A config's words reach the terminal and the log in messages: no escape sequence or invisible character."""
    path = tmp_path / "esc.conf"
    path.write_text(VI + 'global_defs {\n  "\\E[2J"\n  \u202erouter_id\n}\n', encoding="utf-8")
    config = parse_config(str(path), existing_interfaces={"eth0"})
    text = "\n".join(str(w) for w in config.warnings)
    assert "\\x1b[2J" in text and "\\u202erouter_id" in text
    assert "\x1b" not in text and "\u202e" not in text


def test_the_check_table_shows_names_printable(tmp_path):
    """Found by the fuzz: an instance name with a C1 control (CSI) went raw into `--check`'s table."""
    path = tmp_path / "csi.conf"
    path.write_text(VI.replace("VI_1", "\u009b2J"), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    check.main([str(path)], stdout=out, stderr=err)
    assert "\\x9b2J" in out.getvalue() and "\u009b" not in out.getvalue() + err.getvalue()


def test_a_long_word_quoted_in_a_message_is_cut_in_the_middle(tmp_path):
    """Found by the fuzz: a 5,000-character keyword was quoted whole, twice, in one warning."""
    path = tmp_path / "long.conf"
    path.write_text(VI + "z" * 5000 + " {\n}\n")
    (warning,) = [str(w) for w in parse_config(str(path), existing_interfaces={"eth0"}).warnings]
    assert warning.startswith(f"{path}:6: warning: ") and " [...] " in warning
    assert len(warning) <= len(str(path)) + 30 + MAX_MESSAGE


def test_a_vip_scope_is_a_name_or_a_number_the_kernel_takes(tmp_path):
    """`scope 300` passed --check and raised at the takeover, as the VIP went in."""
    path = tmp_path / "scope.conf"
    path.write_text(VI.replace("{ 10.0.0.1 }", "{ 10.0.0.1 scope 300 }"))
    (error,) = errors(path)
    assert error.startswith(f"{path}:4: error: scope '300' is not known: use one of global, host, link, nowhere, site "
                            f"or a number 0-255")
    path.write_text(VI.replace("{ 10.0.0.1 }", "{ 10.0.0.1 scope 200 }"))
    assert parse_config(str(path), existing_interfaces={"eth0"}).instances[0].virtual_ipaddresses[0].scope == "200"


def test_a_file_included_again_and_again_counts_each_time_and_the_limit_is_said_once(tmp_path):
    """Found by the config fuzz: `~SEQ(i,0,100000) include x.conf` read the same file 100,000 times."""
    (tmp_path / "one.conf").write_text("! nothing\n")
    path = tmp_path / "k.conf"
    path.write_text(VI + f"~SEQ(i,1,{tokens.MAX_FILES + 500}) include one.conf\n")
    assert errors(path) == [f"{tmp_path / 'one.conf'}: error: more than {tokens.MAX_FILES} configuration files are "
                            f"included: reduce the includes"]


def test_a_vrrpv3_instance_without_a_vip_is_removed_as_keepalived_does(tmp_path):
    """Found by running the daemon on fuzzed configs: IPv6 unicast peers and no VIP passed --check, then the first
    advert (no address to give it a family) raised. keepalived removes such an instance; a v2 one only warns."""
    path = tmp_path / "novip.conf"
    path.write_text("vrrp_instance VI_6 {\n  interface eth0\n  virtual_router_id 51\n  unicast_peer {\n"
                    "    2001:db8::11\n  }\n  virtual_ipaddress {\n  }\n}\n" + VI)
    config = parse_config(str(path), existing_interfaces={"eth0"})
    assert [i.name for i in config.instances] == ["VI_1"]
    assert [str(w) for w in config.warnings] == [
        f"{path}:1: warning: vrrp_instance VI_6 has no virtual_ipaddress: keepalived removes a VRRPv3 instance "
        f"without one (\"No VIP specified; at least one is required\"), and so does vrrptui; add the address it "
        f"should carry"]


def test_a_vrrpv2_instance_without_a_vip_runs_with_keepalived_s_warning(tmp_path):
    path = tmp_path / "novip.conf"
    path.write_text("vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  advert_int 1\n}\n")
    config = parse_config(str(path), existing_interfaces={"eth0"})
    assert [(i.name, i.version, i.virtual_ipaddresses) for i in config.instances] == [("VI_2", 2, ())]
    assert [str(w) for w in config.warnings] == [
        f"{path}:1: warning: (VI_2) No VIP specified; at least one is sensible: keepalived runs such an instance, "
        f"and so does vrrptui (its adverts carry no address, as a master it holds nothing); add a "
        f"virtual_ipaddress block"]


def test_a_unicast_instance_without_an_interface_is_refused_as_keepalived_refuses_it(tmp_path):
    """keepalived 2.2.7 stops at start with "(VI_1) Unknown interface!" (a permanent CONFIG error), and
    vrrptui's sockets and VIPs are on a named interface: --check says so, with the line, as the daemon does."""
    path = tmp_path / "noif.conf"
    path.write_text("vrrp_instance VI_1 {\n  virtual_router_id 51\n  unicast_src_ip 10.0.0.2\n  unicast_peer {\n"
                    "    10.0.0.3\n  }\n  virtual_ipaddress { 10.0.0.1 }\n}\n")
    with pytest.raises(ConfigError) as exc:
        parse_config(str(path), existing_interfaces={"eth0"})
    assert [str(d) for d in exc.value.diagnostics if d.severity == "error"] == [
        f"{path}:1: error: vrrp_instance VI_1 has no interface: add `interface IFNAME`, the one its unicast_src_ip "
        f"is on (keepalived 2.2.7 does not start either: \"(VI_1) Unknown interface!\")"]
