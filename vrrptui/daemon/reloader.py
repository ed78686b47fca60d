"""SIGHUP: read the configuration again and apply it, all or nothing.

The file is parsed in a child process (vrrptui.daemon.loader) while the loop keeps
running; a config with errors is logged (file:line) and the running one kept. Applying
it: VMACs and sockets for the new instances, their sources, notify and tracking scripts,
then the engine, which keeps the state of unchanged instances. If a step fails, what was
changed is undone and the running configuration stays as it was. A VMAC renamed while its
virtual MAC stays on the same interface is refused (the old one would block the new one).
"""

from __future__ import annotations

import asyncio
import gc
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterable

from vrrptui.config.model import Config, VrrpInstance
from vrrptui.daemon import preflight
from vrrptui.daemon.host import HostChanges
from vrrptui.daemon.notify import NotifyRunner
from vrrptui.daemon.scripts import ScriptRunner
from vrrptui.daemon.sockpool import SocketPool
from vrrptui.daemon.sources import SourceAddresses
from vrrptui.daemon.processes import ProcessWatch
from vrrptui.daemon.trackfiles import FileWatch
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import LogFn, LogLine, Output
from vrrptui.protocol.packet import IPAddress


PARSE_TIMEOUT = 120.0  # s for the reader: the size limit (16 MB) parses in ~13 s here; a stuck file gives up


class ConfigReader:
    """The configuration parsed in a child process (vrrptui.daemon.loader), waited for on the loop's executor
    (threads it reuses), not a watcher thread per child. A stop abandons it: the child is killed, so neither
    the reload nor the process's exit waits for it."""

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        self._abandoned = False

    async def parse(self, path: str) -> Config | str | None:
        """The parsed config, its errors as text, or None when abandoned."""
        argv = [sys.executable, "-P", "-m", "vrrptui.daemon.loader", path]
        config_id = preflight.config_id()
        if config_id is not None:
            argv.append(config_id)

        def run() -> tuple[bytes, bytes] | None:
            if self._abandoned:
                return None
            child = self._child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                   stderr=subprocess.PIPE)
            if self._abandoned:  # abandon() ran while the child started, before it could see it
                child.kill()
            try:
                return child.communicate(timeout=PARSE_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                return b"", f"no result after {PARSE_TIMEOUT:g} s".encode()
            finally:
                self._child = None

        done = await asyncio.get_running_loop().run_in_executor(None, run)
        if done is None or self._abandoned:
            return None
        stdout, stderr = done
        try:
            kind, value = pickle.loads(stdout)
        except Exception:
            return f"{path}: error: the configuration reader failed: {stderr.decode(errors='replace').strip()[-500:]}"
        return value if kind == "ok" else str(value)

    def abandon(self) -> None:
        self._abandoned = True
        child = self._child
        if child is not None:
            try:
                child.kill()
            except OSError:
                pass


class Reloader:
    def __init__(self, engine: Engine, host: HostChanges, sources: SourceAddresses, pool: SocketPool,
                 notify: NotifyRunner, scripts: ScriptRunner, watches: tuple[FileWatch, ProcessWatch],
                 instances: dict[str, VrrpInstance],
                 apply: Callable[[Iterable[Output]], None], log: LogFn) -> None:
        self._engine, self._host, self._sources, self._pool = engine, host, sources, pool
        self._watches = watches  # track_file and vrrp_track_process watchers
        self._instances = instances  # the runtime's, by name: updated in place
        self._notify, self._scripts, self._apply, self._log = notify, scripts, apply, log
        self.count = 0
        self.reader = ConfigReader()

    async def parse(self, config: Config) -> Config | None:
        """The file parsed again (in a child process: the loop runs on), or None when it has errors (logged) or
        a stop abandoned it (`reader.abandon()`)."""
        self._log(LogLine("Reloading"))
        self._log(LogLine(f"Opening file '{config.path}'."))
        parsed = await self.reader.parse(config.path)
        if parsed is None:
            return None
        if isinstance(parsed, str):
            for line in parsed.splitlines():
                self._log(LogLine(line, level="error"))
            self._log(LogLine("Reload failed: the configuration above has errors; "
                              "keeping the running configuration", level="error"))
            return None
        return parsed

    async def apply(self, config: Config, parsed: Config, loop: asyncio.AbstractEventLoop) -> Config:
        """The configuration now in force: `parsed`, or `config` when a step failed (undone)."""
        for warning in parsed.warnings:
            self._log(LogLine(str(warning), level="warning"))
        old_primary = dict(self._sources.primary)
        try:
            self._check_vmac_names(config, parsed)
            self._host.create_vmacs(parsed.instances)
            self._host.routing.prepare(parsed)
            known = {o.name for o in config.instances}
            self._host.remove_stale_vips([i for i in parsed.instances if i.name not in known],
                                         keep=old_primary.values())
            primary = {**old_primary, **self._sources.compute(parsed)}
            # the new sockets open beside the old ones, kept until the engine let go of them
            both = {**{i.name: i for i in config.instances}, **{i.name: i for i in parsed.instances}}
            self._pool.open(both.values())
            self._notify.configure(parsed)
            scripts = self._scripts.prepare(parsed)
            outs = self._engine.reload(parsed, primary, loop.time(), disabled_scripts=self._scripts.refused)
        except (OSError, LookupError, ValueError) as exc:
            self._log(LogLine(f"Reload failed while applying the new configuration: {exc}", level="error"))
            self._undo(config, old_primary)
            return config
        current = {i.name: i for i in parsed.instances}
        self._sources.primary.clear()
        self._sources.primary.update({k: v for k, v in primary.items() if k in current})
        self._instances.update(current)  # the engine's outputs may still name the instances that are gone
        self._apply(outs)
        self._instances.clear()
        self._instances.update(current)
        # instances that are gone: whatever VIPs we still hold for them go too
        self._host.remove_all_vips(keep=set(current))
        self._host.routing.reload(config, parsed)
        self._pool.open(parsed.instances)
        self._host.delete_vmacs(keep=parsed)
        await self._scripts.replace(parsed, scripts)
        for watch in self._watches:
            watch.replace(parsed)
        self.count += 1
        # a full collection once the old configuration is dropped: without it RSS crept by ~0.6 kB
        # per reload with no plateau by 500 (benchmarks/reload_rss.py), though no object stayed behind
        gc.collect()
        self._log(LogLine("Reload complete"))
        return parsed

    def _check_vmac_names(self, config: Config, parsed: Config) -> None:
        """Refuse a new VMAC that would carry the same virtual MAC on the same interface as one of ours under
        another name (`use_vmac` renamed): the kernel cannot bring the second up while the first exists, and
        the first carries a running instance's VIPs until the engine lets it go."""
        made = {i.vmac_interface: (i.interface, i.vmac_address) for i in config.instances
                if i.use_vmac and i.vmac_interface in self._host.vmacs}
        ours = {spec: name for name, spec in made.items()}
        for inst in parsed.instances:
            if not inst.use_vmac or inst.interface is None:
                continue
            if inst.vmac_interface in made:
                if made[inst.vmac_interface] != (inst.interface, inst.vmac_address):
                    # kept by name, it would keep the running one's MAC and base (its VRID or family changed)
                    base, mac = made[inst.vmac_interface]
                    raise ValueError(
                        f"({inst.name}) VMAC {inst.vmac_interface} would need the address {inst.vmac_address} on "
                        f"{inst.interface}, but it has {mac} on {base} for the running configuration: a reload "
                        f"cannot remake a VMAC; give it a new `use_vmac NAME`, or restart vrrptui")
                continue
            old = ours.get((inst.interface, inst.vmac_address))
            if old is not None and old != inst.vmac_interface:
                raise ValueError(
                    f"({inst.name}) VMAC {inst.vmac_interface} would have the address {inst.vmac_address} "
                    f"on {inst.interface}, which VMAC {old} of the running configuration has: a reload cannot "
                    f"rename a VMAC; restart vrrptui to rename it")

    def _undo(self, config: Config, primary: dict[str, IPAddress]) -> None:
        for step in (lambda: self._sources.compute(config), lambda: self._pool.open(config.instances),
                     lambda: self._notify.configure(config), lambda: self._scripts.prepare(config),
                     lambda: self._host.delete_vmacs(keep=config)):
            try:
                step()
            except (OSError, LookupError, ValueError) as exc:
                self._log(LogLine(f"undoing the reload: {exc}", level="error"))
        self._sources.primary.clear()
        self._sources.primary.update(primary)
