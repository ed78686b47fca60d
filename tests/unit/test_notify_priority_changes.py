"""notify_priority_changes: keepalived's MASTER_PRIORITY / BACKUP_PRIORITY lines on the notify FIFOs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from test_lower_priority_master import parsed

from vrrptui.config.model import Config, GlobalDefs, NotifyScript, VrrpInstance
from vrrptui.daemon.notify import NotifyRunner
from vrrptui.engine.outputs import RunNotify


def test_the_instance_keyword_overrides_the_global_default(tmp_path: Path) -> None:
    assert parsed(tmp_path).notify_priority_changes is False
    on = "global_defs {\n  vrrp_notify_priority_changes\n}"
    assert parsed(tmp_path, on).notify_priority_changes is True
    assert parsed(tmp_path, on, inside="notify_priority_changes false").notify_priority_changes is False
    assert parsed(tmp_path, inside="notify_priority_changes").notify_priority_changes is True


def test_a_sync_group_sets_it_for_members_that_do_not(tmp_path: Path) -> None:
    # keepalived 2.2.7, observed: the instance's own value, else its group's, else the global one
    group = "vrrp_sync_group G {{\n  group {{\n    VI_1\n  }}\n  notify_priority_changes {}\n}}"
    assert parsed(tmp_path, group.format("")).notify_priority_changes is True
    on = "global_defs {\n  vrrp_notify_priority_changes\n}\n"
    assert parsed(tmp_path, on + group.format("false")).notify_priority_changes is False
    own = parsed(tmp_path, on + group.format("false"), inside="notify_priority_changes")
    assert own.notify_priority_changes is True


def test_priority_events_go_to_the_fifo_and_run_no_script(tmp_path: Path) -> None:
    # keepalived's send_instance_priority_notifies writes the FIFOs only: `notify` is not called
    record = tmp_path / "notify.txt"
    notify = tmp_path / "notify.sh"
    notify.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    notify.chmod(0o755)
    fifo = tmp_path / "notify.fifo"
    os.mkfifo(fifo, 0o600)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    inst = VrrpInstance("VI_1", "lo", 1, notify=NotifyScript(str(notify)), notify_priority_changes=True)
    runner = NotifyRunner(lambda line: None)
    runner.configure(Config(path="x.conf", global_defs=GlobalDefs(script_user="root", notify_fifo=str(fifo)),
                            instances=(inst,)))

    async def drive() -> None:
        runner.run(RunNotify("VI_1", "MASTER_PRIORITY", 90))
        runner.run(RunNotify("VI_1", "BACKUP_PRIORITY", 100))
        await runner.drain(timeout=5)

    try:
        asyncio.run(drive())
        runner.close()
        assert os.read(reader, 4096).decode().splitlines() == [
            'INSTANCE "VI_1" MASTER_PRIORITY 90', 'INSTANCE "VI_1" BACKUP_PRIORITY 100']
    finally:
        os.close(reader)
    assert runner.started == 0 and not record.exists()
