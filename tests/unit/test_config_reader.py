"""The reload's reader: the configuration parsed in a child process, bounded in time, abandoned by a stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vrrptui.config.model import Config
from vrrptui.daemon import reloader
from vrrptui.daemon.reloader import ConfigReader

INSTANCE = """vrrp_instance VI_{0} {{
    interface eth0
    virtual_router_id {1}
    priority 100
    virtual_ipaddress {{
        10.0.{2}.{3}/32
    }}
}}
"""


def large(path: Path, count: int = 40_000) -> str:
    path.write_text("".join(INSTANCE.format(i, i % 255 + 1, i >> 8 & 255, i & 255) for i in range(count)))
    return str(path)


def test_a_good_file_is_parsed(tmp_path: Path) -> None:
    config = asyncio.run(ConfigReader().parse(large(tmp_path / "k.conf", 2)))
    assert isinstance(config, Config) and [i.name for i in config.instances] == ["VI_0", "VI_1"]


def test_a_reader_that_takes_too_long_is_killed_and_the_reload_fails(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reloader, "PARSE_TIMEOUT", 0.3)
    result = asyncio.run(ConfigReader().parse(large(tmp_path / "k.conf")))
    assert isinstance(result, str) and "the configuration reader failed: no result after 0.3 s" in result


def test_abandoned_while_parsing_the_reader_is_killed(tmp_path: Path) -> None:
    path = large(tmp_path / "k.conf")

    async def main() -> Config | str | None:
        reader = ConfigReader()
        parsing = asyncio.ensure_future(reader.parse(path))
        await asyncio.sleep(0.3)
        assert reader._child is not None and reader._child.poll() is None  # still at work
        child = reader._child
        reader.abandon()
        result = await parsing
        assert child.wait(5) < 0  # killed
        return result
    assert asyncio.run(main()) is None
