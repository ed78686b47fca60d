"""notify scripts: notify_master/backup/fault/stop and `notify` with keepalived's arguments.

`notify SCRIPT` is called as `SCRIPT INSTANCE <name> <STATE> <priority>` (keepalived's four
arguments), a vrrp_sync_group's as `SCRIPT GROUP <name> <STATE> 0` (keepalived 2.2.7 passes
priority 0 for groups); the notify_<state> script runs first, with the arguments written in
the config only. Both are started without waiting for them: the engine never waits for a
script. Their exit is reaped in the background and a failure is a detail log line; one
still running after NOTIFY_TIMEOUT (60 s; keepalived has no limit) is killed with its
process group, and so is any still running when the daemon stops.
"""

from __future__ import annotations

import asyncio

from vrrptui.config.model import Config, NotifyScript, VrrpInstance
from vrrptui.daemon import children
from vrrptui.daemon.notifyfifo import NotifyFifo, group_line, instance_line
from vrrptui.daemon.scriptsec import ScriptCommand, ScriptRefused, prepare
from vrrptui.engine.outputs import LogFn, LogLine, RunGroupNotify, RunNotify


_STATE_FIELD = {"MASTER": "notify_master", "BACKUP": "notify_backup", "FAULT": "notify_fault", "STOP": "notify_stop"}
# events with a script of their own and no `notify` call (keepalived's send_event_notify)
_EVENT_FIELD = {"MASTER_RX_LOWER_PRI": "notify_master_rx_lower_pri"}
# notify_priority_changes: keepalived writes these on the FIFOs and runs no script
_FIFO_ONLY = {"MASTER_PRIORITY", "BACKUP_PRIORITY"}


class NotifyRunner:
    def __init__(self, log: LogFn) -> None:
        self._log = log
        self._commands: dict[tuple[str, str], ScriptCommand | None] = {}  # (instance, field) -> command
        self._group_commands: dict[tuple[str, str], ScriptCommand | None] = {}  # (group, field) -> command
        self._config: Config | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = 0  # scripts launched (for tests and status)
        self._fifos: dict[str, NotifyFifo] = {}  # notify_fifo / vrrp_notify_fifo by path

    def configure(self, config: Config) -> None:
        """Check every notify script of `config` once (keepalived checks them at start-up); open its FIFOs."""
        self._config = config
        self._open_fifos(config)
        self._commands = {}
        for inst in config.instances:
            for fieldname in (*_STATE_FIELD.values(), *_EVENT_FIELD.values(), "notify"):
                script = getattr(inst, fieldname)
                if script:
                    self._commands[(inst.name, fieldname)] = self._prepare(script, config)
        # a group removed by a reload keeps its commands so its STOP can still run
        groups = {g.name for g in config.sync_groups}
        self._group_commands = {k: v for k, v in self._group_commands.items() if k[0] not in groups}
        for group in config.sync_groups:
            for fieldname in (*_STATE_FIELD.values(), "notify"):
                script = getattr(group, fieldname)
                if script:
                    self._group_commands[(group.name, fieldname)] = self._prepare(script, config)

    def _prepare(self, script: NotifyScript, config: Config) -> ScriptCommand | None:
        """keepalived's `SCRIPT [user [group]]`: the script runs as that user and group."""
        try:
            command, logs = prepare(script.command, script.user, script.group, config.global_defs)
        except ScriptRefused as exc:
            self._log(LogLine(str(exc), level="warning"))
            self._log(LogLine(exc.disabling("notify script", script.command), level="warning"))
            return None
        for line in logs:
            self._log(line)
        return command

    def _open_fifos(self, config: Config) -> None:
        wanted = {p for p in (config.global_defs.notify_fifo, config.global_defs.vrrp_notify_fifo) if p}
        for path in [p for p in self._fifos if p not in wanted]:
            self._fifos.pop(path).close()
        for path in wanted - set(self._fifos):
            try:
                self._fifos[path] = NotifyFifo(path, self._log)
            except OSError as exc:
                self._log(LogLine(f"Unable to open notify FIFO {path}: {exc.strerror or exc}", level="error"))

    def _fifo_line(self, line: str) -> None:
        for fifo in self._fifos.values():
            fifo.write(line)

    def close(self) -> None:
        """At exit, after the last events: close the FIFOs (a reader sees end of file)."""
        for fifo in self._fifos.values():
            fifo.close()
        self._fifos = {}

    def run(self, action: RunNotify, instance: VrrpInstance | None = None) -> None:
        """Launch the scripts for `action` (instance: its config when it is no longer in ours)."""
        name = action.instance
        self._fifo_line(instance_line(name, action.state, action.priority))
        if action.state in _FIFO_ONLY:
            return
        event_field = _EVENT_FIELD.get(action.state)
        if event_field:
            command = self._lookup(name, event_field, instance)
            if command is not None:
                self._launch(command, command.argv)
            return
        state_field = _STATE_FIELD.get(action.state)
        if state_field:
            command = self._lookup(name, state_field, instance)
            if command is not None:
                self._launch(command, command.argv)
        command = self._lookup(name, "notify", instance)
        if command is not None:
            self._launch(command, (*command.argv, "INSTANCE", name, action.state, str(action.priority)))

    def run_group(self, action: RunGroupNotify) -> None:
        """Launch a sync group's scripts for the state the group entered."""
        self._fifo_line(group_line(action.group, action.state))
        state_field = _STATE_FIELD.get(action.state)
        command = self._group_commands.get((action.group, state_field)) if state_field else None
        if command is not None:
            self._launch(command, command.argv)
        command = self._group_commands.get((action.group, "notify"))
        if command is not None:
            self._launch(command, (*command.argv, "GROUP", action.group, action.state, "0"))

    def _lookup(self, name: str, fieldname: str, instance: VrrpInstance | None) -> ScriptCommand | None:
        if (name, fieldname) in self._commands:
            return self._commands[(name, fieldname)]
        if instance is not None and self._config is not None and getattr(instance, fieldname):
            command = self._prepare(getattr(instance, fieldname), self._config)
            self._commands[(name, fieldname)] = command
            return command
        return None

    def _launch(self, command: ScriptCommand, argv: tuple[str, ...]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(command, argv))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.started += 1

    async def _run(self, command: ScriptCommand, argv: tuple[str, ...]) -> None:
        try:
            status = await children.run(command, argv, children.NOTIFY_TIMEOUT)
        except OSError as exc:
            self._log(LogLine(f"Failed to exec notify script {command.text}: {exc.strerror or exc}", level="error"))
            return
        if status is None:
            self._log(LogLine(f"Notify script {' '.join(argv)} still running after {children.NOTIFY_TIMEOUT:g} s: "
                              "killed with its process group", level="warning"))
        elif status != 0:
            self._log(LogLine(f"Notify script {' '.join(argv)} exited with status {status}", detail=True))

    async def drain(self, timeout: float) -> None:
        """At exit: let launched scripts (notify_stop above all) get started and finish, within `timeout`;
        then kill what is left, process groups and all: no script outlives the daemon."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        pending = set(self._tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
