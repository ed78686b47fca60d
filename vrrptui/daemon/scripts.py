"""vrrp_script runner: run each tracked script every `interval`, apply rise/fall, report changes.

keepalived's behaviour: a script runs every `interval` seconds; it is killed after
`timeout` (default: the interval) and then counts as a failure; `fall` consecutive
failures make an OK script fail, `rise` consecutive successes make a failed one OK.
A script's first result counts at once, whatever rise/fall say (keepalived's INIT state:
one success or one failure is enough); with `init_fail` it starts failed instead. Only the transitions reach the engine
(`engine.script_state`, with the exit status or timeout of the run that flipped it, so
the engine words keepalived's `VRRP_Script(chk) failed (exited with status 1)` line in
one place), and a flapping script costs one call per change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vrrptui.config.model import Config, VrrpScript
from vrrptui.daemon import children
from vrrptui.daemon.scriptsec import ScriptCommand, ScriptRefused, prepare
from vrrptui.engine.outputs import LogFn, LogLine

# (script name, ok, exit status or None, timed out) -> None, on the loop thread when a script's state flips
OnChange = Callable[[str, bool, "int | None", bool], None]


class TrackedScript:
    """One vrrp_script's schedule, counters and current state."""

    def __init__(self, script: VrrpScript, command: ScriptCommand, on_change: OnChange, log: LogFn) -> None:
        self.script = script
        self.command = command
        # None until the first run, whose result counts at once (keepalived's INIT); `init_fail`: failed, and
        # `rise` successes make it OK
        self.ok: bool | None = False if script.init_fail else None
        self.last_status: int | None = None  # the last exit status seen (for "now returning")
        self.runs = 0
        self._successes = 0
        self._failures = 0
        self._on_change = on_change
        self._log = log
        self._task: asyncio.Task[None] | None = None

    @property
    def timeout(self) -> float:
        return self.script.timeout if self.script.timeout is not None else self.script.interval

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run_forever(), name=f"vrrp_script {self.script.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def _run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.run_once()
            # next run `interval` after the previous start, or at once if the script overran
            await asyncio.sleep(max(0.0, started + self.script.interval - loop.time()))

    async def run_once(self) -> bool:
        """Run the script once, apply rise/fall; returns whether it succeeded this time."""
        name = self.script.name
        self.runs += 1
        try:
            status = await children.run(self.command, self.command.argv, self.timeout)
        except OSError as exc:
            self._log(LogLine(f"VRRP_Script({name}) cannot be run: {exc.strerror or exc}", level="error"))
            return self._result(False, None)
        if status is None:  # timed out: its whole process group was killed
            return self._result(False, None, timed_out=True)
        return self._result(status == 0, status)

    def _result(self, success: bool, status: int | None, timed_out: bool = False) -> bool:
        name = self.script.name
        if status is not None and status >= 0 and status != self.last_status:  # keepalived: exits only, not signals
            self._log(LogLine(f"Script `{name}` now returning {status}", detail=True))
        self.last_status = status
        if success:
            self._successes += 1
            self._failures = 0
            flip = self.ok is None or (not self.ok and self._successes >= self.script.rise)
        else:
            self._failures += 1
            self._successes = 0
            flip = self.ok is None or (self.ok and self._failures >= self.script.fall)
        if flip:
            self.ok = success
            # the engine logs "VRRP_Script(name) succeeded / failed (...) / timed_out" when it takes the change;
            # like keepalived, a run that does not flip the state is not logged
            self._on_change(name, success, status, timed_out)
        return success


class ScriptRunner:
    """Every vrrp_script that some instance tracks, each on its own schedule."""

    def __init__(self, on_change: OnChange, log: LogFn) -> None:
        self._on_change = on_change
        self._log = log
        self.scripts: dict[str, TrackedScript] = {}
        self.refused: dict[str, str] = {}  # script name -> why it does not run

    def prepare(self, config: Config) -> dict[str, TrackedScript]:
        """Check and build the scripts `config` tracks (nothing runs yet). Logs refusals."""
        tracked = {ts.name for inst in config.instances for ts in inst.track_scripts}
        built: dict[str, TrackedScript] = {}
        self.refused = {}
        for script in config.scripts:
            if script.name not in tracked:
                continue
            try:
                command, logs = prepare(script.script, script.user, script.group, config.global_defs)
            except ScriptRefused as exc:
                self._log(LogLine(str(exc), level="warning"))
                self._log(LogLine(exc.disabling("track script", script.name), level="warning"))
                self.refused[script.name] = str(exc)
                continue
            for line in logs:
                self._log(line)
            built[script.name] = TrackedScript(script, command, self._on_change, self._log)
        return built

    def start(self, config: Config, prepared: dict[str, TrackedScript] | None = None) -> None:
        """Start `config`'s scripts (`prepared`: what prepare(config) returned, to check them once)."""
        self.scripts = self.prepare(config) if prepared is None else prepared
        for tracked in self.scripts.values():
            tracked.start()

    async def replace(self, config: Config, prepared: dict[str, TrackedScript] | None = None) -> None:
        """On reload: scripts whose definition is unchanged keep running and keep their state."""
        new = self.prepare(config) if prepared is None else dict(prepared)
        for name, old in list(self.scripts.items()):
            if name in new and new[name].script == old.script and new[name].command == old.command:
                new[name] = old
            else:
                await old.stop()
        for tracked in new.values():
            if tracked._task is None:
                tracked.start()
        self.scripts = new

    async def stop(self) -> None:
        for tracked in self.scripts.values():
            await tracked.stop()
