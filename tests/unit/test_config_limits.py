"""Configuration limits (checked before anything starts), each an error with file:line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vrrptui.config import tokens
from vrrptui.config.model import ConfigError
from vrrptui.config.parser import parse_config

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


def test_crlf_line_ends_are_fine(tmp_path):
    path = tmp_path / "crlf.conf"
    path.write_bytes(VI.replace("\n", "\r\n").encode())
    assert len(parse_config(str(path), existing_interfaces={"eth0"}).instances) == 1


def test_a_fifo_as_the_configuration_does_not_hang(tmp_path):
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)
    (error,) = errors(fifo)
    assert error.startswith(f"{fifo}: error: not a regular file") or "not a regular file" in error


@pytest.mark.parametrize("line, message", [
    ("  interface averyveryverylongname0\n", "interface 'averyveryverylongname0' is not a Linux interface name"),
])
def test_interface_names(tmp_path, line, message):
    path = tmp_path / "k.conf"
    path.write_text(VI.replace("  interface eth0\n", line))
    assert any(f"{path}:2: error: {message}" in e for e in errors(path))


def test_vip_label_longer_than_the_kernel_takes(tmp_path):
    path = tmp_path / "k.conf"
    path.write_text(VI.replace("{ 10.0.0.1 }", "{ 10.0.0.1 label eth0:abcdefghijklmnopqrstuvwxyz01 }"))
    (error,) = errors(path)
    assert error.startswith(f"{path}:4: error: label 'eth0:abcdefghijklmnopqrstuvwxyz01' is longer than 15 characters")
