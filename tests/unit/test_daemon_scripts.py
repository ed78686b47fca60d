"""vrrp_script runner and notify runner with real child processes (no network needed)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from vrrptui.config.model import Config, GlobalDefs, NotifyScript, SyncGroup, VrrpInstance, VrrpScript
from vrrptui.daemon.notify import NotifyRunner
from vrrptui.daemon.scripts import ScriptRunner, TrackedScript
from vrrptui.daemon.scriptsec import prepare
from vrrptui.engine.outputs import LogLine, RunGroupNotify, RunNotify

ROOT_USER = GlobalDefs(script_user="root")


def tracked(tmp_path: Path, *, fall: int = 1, rise: int = 1, timeout: float | None = None, init_fail: bool = False,
            body: str | None = None, outcomes: list[tuple[int | None, bool]] | None = None,
            ) -> tuple[TrackedScript, list[tuple[str, bool]], list[LogLine], Path]:
    flag = tmp_path / "healthy"
    path = tmp_path / "chk.sh"
    path.write_text(body or f"#!/bin/sh\ntest -f {flag}\n")
    path.chmod(0o755)
    script = VrrpScript("chk", str(path), interval=0.05, timeout=timeout, rise=rise, fall=fall, weight=-20,
                        init_fail=init_fail)
    command, _ = prepare(script.script, None, None, ROOT_USER)
    changes: list[tuple[str, bool]] = []
    logs: list[LogLine] = []
    def on_change(name: str, ok: bool, exit_status: int | None, timed_out: bool) -> None:
        changes.append((name, ok))
        if outcomes is not None:
            outcomes.append((exit_status, timed_out))

    return TrackedScript(script, command, on_change, logs.append), changes, logs, flag


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_script_fails_after_fall_consecutive_failures_and_recovers_after_rise_successes(tmp_path: Path) -> None:
    ts, changes, logs, flag = tracked(tmp_path, fall=3, rise=2)

    async def drive() -> list[bool]:
        flag.write_text("")
        seen = [await ts.run_once()]
        flag.unlink()
        seen += [await ts.run_once() for _ in range(3)]
        assert changes == [("chk", True), ("chk", False)]  # the first run counts at once; then the third failure
        flag.write_text("")
        seen += [await ts.run_once() for _ in range(2)]
        return seen

    assert run(drive()) == [True, False, False, False, True, True]
    assert changes == [("chk", True), ("chk", False), ("chk", True)]
    assert ts.ok
    assert [line.text for line in logs] == ["Script `chk` now returning 0", "Script `chk` now returning 1",
                                            "Script `chk` now returning 0"]


def test_failure_below_fall_does_not_flip(tmp_path: Path) -> None:
    ts, changes, _, flag = tracked(tmp_path, fall=2)

    async def drive() -> None:
        flag.write_text("")
        await ts.run_once()  # the first result counts at once: OK
        flag.unlink()
        await ts.run_once()  # one failure of the two `fall` asks for
        flag.write_text("")
        await ts.run_once()
        flag.unlink()
        await ts.run_once()

    run(drive())
    assert changes == [("chk", True)] and ts.ok


@pytest.mark.parametrize("first", [True, False])
def test_the_first_result_counts_at_once_whatever_rise_and_fall_say(tmp_path: Path, first: bool) -> None:
    # keepalived's INIT: one success or one failure is enough. A failing health check counted as OK for
    # `fall` runs let a router take the VIP at start-up, for seconds, before it dropped out again.
    ts, changes, _, flag = tracked(tmp_path, fall=3, rise=3)
    assert ts.ok is None
    if first:
        flag.write_text("")
    run(ts.run_once())
    assert changes == [("chk", first)] and ts.ok is first


def test_init_fail_starts_failed_until_rise_successes(tmp_path: Path) -> None:
    ts, changes, _, flag = tracked(tmp_path, rise=2, init_fail=True)
    flag.write_text("")
    assert not ts.ok

    async def drive() -> None:
        await ts.run_once()
        assert changes == []
        await ts.run_once()

    run(drive())
    assert changes == [("chk", True)]


def test_timeout_kills_the_script_and_its_children_and_counts_as_failure(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    body = f"#!/bin/sh\nsleep 30 &\necho $! > {marker}\nwait\n"
    outcomes: list[tuple[int | None, bool]] = []
    ts, changes, logs, _ = tracked(tmp_path, timeout=0.3, body=body, outcomes=outcomes)
    assert run(ts.run_once()) is False
    assert changes == [("chk", False)]
    assert outcomes == [(None, True)]  # the engine words it "timed_out", and only that
    assert logs == []
    child = int(marker.read_text())
    # the whole process group went: the backgrounded sleep is not left running
    for _ in range(100):
        if not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]:
            break
        time.sleep(0.01)
    else:
        pytest.fail(f"child {child} of the timed-out script is still running")


def test_the_run_that_flips_the_state_hands_its_exit_status_to_the_engine(tmp_path: Path) -> None:
    outcomes: list[tuple[int | None, bool]] = []
    ts, changes, logs, _ = tracked(tmp_path, fall=2, body="#!/bin/sh\nexit 3\n", outcomes=outcomes)

    async def drive() -> None:
        await ts.run_once()
        await ts.run_once()
        await ts.run_once()  # already failed: nothing more reaches the engine

    run(drive())
    assert changes == [("chk", False)]
    assert outcomes == [(3, False)]
    assert [line.text for line in logs] == ["Script `chk` now returning 3"]


def test_a_script_killed_by_a_signal_reports_the_signal(tmp_path: Path) -> None:
    outcomes: list[tuple[int | None, bool]] = []
    ts, changes, logs, _ = tracked(tmp_path, body="#!/bin/sh\nkill -9 $$\n", outcomes=outcomes)
    assert run(ts.run_once()) is False
    assert outcomes == [(-9, False)]
    assert logs == []  # keepalived's "now returning" is for exit statuses only


def test_runner_only_runs_tracked_scripts_and_refuses_insecure_ones(tmp_path: Path) -> None:
    good = tmp_path / "good.sh"
    good.write_text("#!/bin/sh\nexit 0\n")
    good.chmod(0o755)
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nexit 0\n")
    bad.chmod(0o777)
    from vrrptui.config.model import TrackScript

    config = Config(
        path="x.conf",
        global_defs=GlobalDefs(enable_script_security=True, script_user="root"),
        scripts=(VrrpScript("good", str(good)), VrrpScript("bad", str(bad)), VrrpScript("unused", str(good))),
        instances=(VrrpInstance("VI_1", "lo", 1, track_scripts=(TrackScript("good"), TrackScript("bad"))),),
    )
    logs: list[LogLine] = []
    runner = ScriptRunner(lambda *change: None, logs.append)
    built = runner.prepare(config)
    assert set(built) == {"good"}
    assert set(runner.refused) == {"bad"}
    texts = [line.text for line in logs]
    if os.geteuid() == 0:
        assert f"Unsafe permissions found for script '{bad}' - disabling." in texts
        assert "Disabling track script bad due to insecure" in texts


def test_notify_scripts_get_keepalived_arguments(tmp_path: Path) -> None:
    record = tmp_path / "notify.txt"
    notify = tmp_path / "notify.sh"
    notify.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    notify.chmod(0o755)
    master = tmp_path / "master.sh"
    master.write_text(f'#!/bin/sh\necho "master $*" >> {record}\n')
    master.chmod(0o755)
    inst = VrrpInstance("VI_1", "lo", 1, notify=NotifyScript(str(notify)),
                        notify_master=NotifyScript(f"{master} one 'two words'"))
    config = Config(path="x.conf", global_defs=ROOT_USER, instances=(inst,))
    runner = NotifyRunner(lambda line: None)
    runner.configure(config)

    async def drive() -> None:
        runner.run(RunNotify("VI_1", "MASTER", 120))
        runner.run(RunNotify("VI_1", "STOP", 0))
        await runner.drain(timeout=5)

    run(drive())
    lines = sorted(record.read_text().splitlines())
    assert lines == sorted(["master one two words", "INSTANCE VI_1 MASTER 120", "INSTANCE VI_1 STOP 0"])
    assert runner.started == 3


def test_sync_group_notify_scripts_get_keepalived_group_arguments(tmp_path: Path) -> None:
    record = tmp_path / "notify.txt"
    notify = tmp_path / "notify.sh"
    notify.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    notify.chmod(0o755)
    group = SyncGroup("G1", ("VI_1",), notify=NotifyScript(str(notify)),
                      notify_fault=NotifyScript(f"{notify} group-fault"))
    config = Config(path="x.conf", global_defs=ROOT_USER, instances=(VrrpInstance("VI_1", "lo", 1),),
                    sync_groups=(group,))
    runner = NotifyRunner(lambda line: None)
    runner.configure(config)

    async def drive() -> None:
        runner.run(RunNotify("VI_1", "MASTER", 100))  # the instance has no scripts of its own
        runner.run_group(RunGroupNotify("G1", "MASTER"))
        runner.run_group(RunGroupNotify("G1", "FAULT"))
        await runner.drain(timeout=5)
        runner.configure(Config(path="x.conf", global_defs=ROOT_USER, instances=()))  # reload drops G1
        runner.run_group(RunGroupNotify("G1", "STOP"))
        await runner.drain(timeout=5)

    run(drive())
    # keepalived 2.2.7: `notify` gets GROUP name STATE 0; notify_fault only what the config wrote
    assert sorted(record.read_text().splitlines()) == sorted(
        ["GROUP G1 MASTER 0", "GROUP G1 FAULT 0", "group-fault", "GROUP G1 STOP 0"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a script as another user")
def test_notify_script_runs_as_the_user_and_group_of_its_line(tmp_path: Path) -> None:
    # `notify_master "SCRIPT ARGS" nobody nogroup`, parsed from a real line: keepalived runs it as nobody:nogroup.
    import tempfile

    from vrrptui.config.parser import parse_config

    shared = Path(tempfile.mkdtemp(prefix="vrrptui-notify-"))
    try:
        shared.chmod(0o777)
        record = shared / "id.txt"
        script = shared / "notify.sh"
        script.write_text(f'#!/bin/sh\necho "$(id -u):$(id -g) $*" > {record}\n')
        script.chmod(0o755)
        conf = tmp_path / "keepalived.conf"
        conf.write_text("global_defs {\n  script_user root\n}\nvrrp_instance VI_1 {\n  interface eth0\n"
                        f"  virtual_router_id 1\n  notify_master \"{script} one 'two words'\" nobody nogroup\n}}\n")
        config = parse_config(str(conf), check_interfaces=False)
        runner = NotifyRunner(lambda line: None)
        runner.configure(config)

        async def drive() -> None:
            runner.run(RunNotify("VI_1", "MASTER", 100))
            await runner.drain(timeout=5)

        run(drive())
        assert record.read_text() == "65534:65534 one two words\n"
    finally:
        for path in shared.iterdir():
            path.unlink()
        shared.rmdir()
