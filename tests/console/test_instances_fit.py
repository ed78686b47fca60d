"""The Instances table fits a 160-column terminal with long reasons and a health verdict; the full text is under `c`."""

from __future__ import annotations

import asyncio

import harness as h
from vrrptui.console.panes import counters_text
from vrrptui.engine.outputs import Reason


def busy_statuses():
    """A master held by the operator with trackers, and an IPv6 backup watching a link-local master."""
    master = h.status(state="MASTER", last_transition="BACKUP -> MASTER", last_reason=Reason.TIMEOUT.value,
                      held="priority", effective_priority=240,
                      priority_reason="operator, script chk_nginx failed -10, interface eth1 down -20")
    backup = h.status("VI_GATEWAY_V6", vrid=45, version=3, family=6, master_address="fe80::5054:ff:fe12:3456",
                      master_priority=254, advert_int=0.1, learned_advert_int=0.25, master_down_interval=0.361,
                      master_down_at=h.NOW + 0.2, last_transition="MASTER -> BACKUP",
                      last_reason=Reason.HIGHER_PRIORITY.value, vips=("fd00::45/64",), held="demoted")
    return master, backup


def test_instances_table_fits_160_columns(tmp_path):
    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(160, 45)) as pilot:
            app.observe([h.snapshot(*busy_statuses())])
            app.refresh_panes()
            await pilot.pause()
            table = app.query_one("#instances")
            return table.virtual_size.width, table.size.width, table.show_horizontal_scrollbar

    virtual, shown, scrollbar = asyncio.run(run())
    assert virtual <= shown == 160
    assert not scrollbar


def test_counters_line_keeps_the_full_priority_reason_and_transition():
    master, _ = busy_statuses()
    text = counters_text(master).plain
    assert "priority 100/240 (operator, script chk_nginx failed -10, interface eth1 down -20), held: priority" in text
    assert "last change BACKUP -> MASTER (master down timer expired)" in text
