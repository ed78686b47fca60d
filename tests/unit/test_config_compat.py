"""docs/keepalived-compat.md is generated from the parser's tables and kept up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrrptui.config.compat import ACTED_ON, render
from vrrptui.config.keywords import SECTIONS
from vrrptui.config.parser import parse_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "keepalived-compat.md"


def test_the_compat_table_is_up_to_date():
    assert DOC.read_text() == render(), "run: python -m vrrptui.config.compat > docs/keepalived-compat.md"


@pytest.mark.parametrize("section", sorted(ACTED_ON))
def test_every_keyword_vrrptui_acts_on_is_a_keepalived_keyword(section):
    assert ACTED_ON[section] - set(SECTIONS[section]) == set()


def test_no_keepalived_keyword_is_called_unknown(tmp_path):
    blocks = {
        "global_defs": "global_defs {{\n{}}}\n",
        "vrrp_instance": "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 1\n{}}}\n",
        "vrrp_script": "vrrp_script chk {{\n  script /bin/true\n{}}}\n",
        "vrrp_sync_group": "vrrp_sync_group G {{\n  group {{\n    VI_1\n  }}\n{}}}\n",
    }
    for section, template in blocks.items():
        body = "".join(f"  {keyword}\n" for keyword in SECTIONS[section] if keyword not in ACTED_ON[section])
        path = tmp_path / f"{section}.conf"
        path.write_text(template.format(body) + (blocks["vrrp_instance"].format("") if section != "vrrp_instance"
                                                 else ""))
        config = parse_config(str(path), check_interfaces=False)
        messages = [d.message for d in config.warnings]
        assert not [m for m in messages if m.startswith("unknown keyword")], messages
        assert sum("is known to keepalived, not acted on by vrrptui: ignored (keepalived: " in m
                   for m in messages) == body.count("\n")
