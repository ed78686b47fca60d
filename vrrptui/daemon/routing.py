"""Routes, rules and static addresses this process installs, and their undo.

virtual_routes / virtual_rules of an instance go in when it becomes MASTER (after its VIPs, so a
route may use a VIP as `src`) and come out when it leaves MASTER and at exit. static_ipaddress,
static_routes and static_rules go in at start-up and come out at exit, whatever the VRRP states.
Only what this process added is removed: a static entry that was already there is left alone. An
instance's virtual route or rule already there when it becomes MASTER (a killed run's: routes are not
journalled) is taken as its own and removed when it leaves MASTER, as keepalived does.
"""

from __future__ import annotations

from collections.abc import Callable

from vrrptui.config.model import Config, PolicyRule, StaticRoute, VirtualAddress, VrrpInstance
from vrrptui.engine.outputs import LogLine
from vrrptui.net import routes
from vrrptui.net.netlink import Netlink

LogFn = Callable[[LogLine], None]
KEEPALIVED_DEFAULT_INTERFACE = "eth0"  # keepalived's default_interface

Entry = tuple[str, StaticRoute | PolicyRule | VirtualAddress, str | None]  # (kind, entry, default dev)


class Routing:
    def __init__(self, netlink: Netlink, log: LogFn) -> None:
        self.netlink = netlink
        self._log = log
        self.installed: dict[str | None, list[Entry]] = {}  # instance name (None: static) -> what we added
        self._devs: dict[str, str | None] = {}  # instance -> the default dev its routes were added with

    def _add(self, owner: str | None, entries: list[Entry]) -> None:
        added = self.installed.setdefault(owner, [])
        label = f"({owner}) " if owner else ""
        for kind, entry, dev in entries:
            try:
                if kind == "route":
                    done = routes.add_route(self.netlink, entry, dev)  # type: ignore[arg-type]
                elif kind == "rule":
                    done = routes.add_rule(self.netlink, entry)  # type: ignore[arg-type]
                else:
                    done = self.netlink.add_vip(entry, dev or KEEPALIVED_DEFAULT_INTERFACE)  # type: ignore[arg-type]
            except (OSError, LookupError) as exc:
                self._log(LogLine(f"{label}cannot add {kind} {_text(entry)}: {exc}", level="error"))
                continue
            if done:
                added.append((kind, entry, dev))
                self._log(LogLine(f"{label}added {kind} {_text(entry)}", detail=True))
            elif owner is not None and kind in ("route", "rule"):
                # there already: left by a run that was killed (nothing journals routes), or the same route
                # by hand; this master's from now on, removed when it steps down or stops, as keepalived's
                added.append((kind, entry, dev))
                self._log(LogLine(f"{label}{kind} {_text(entry)} was there already: taken as this instance's",
                                  detail=True))

    def _remove(self, owner: str | None) -> None:
        label = f"({owner}) " if owner else ""
        for kind, entry, dev in reversed(self.installed.pop(owner, [])):
            try:
                if kind == "route":
                    routes.remove_route(self.netlink, entry, dev)  # type: ignore[arg-type]
                elif kind == "rule":
                    routes.remove_rule(self.netlink, entry)  # type: ignore[arg-type]
                else:
                    self.netlink.remove_vip(entry, dev or KEEPALIVED_DEFAULT_INTERFACE)  # type: ignore[arg-type]
            except (OSError, LookupError) as exc:
                self._log(LogLine(f"{label}cannot remove {kind} {_text(entry)}: {exc}", level="error"))

    def add_instance(self, inst: VrrpInstance, default_dev: str | None) -> None:
        """virtual_routes and virtual_rules, as the instance becomes MASTER."""
        if inst.name in self.installed:
            return
        self._devs[inst.name] = default_dev
        self._add(inst.name, [("route", route, default_dev) for route in inst.virtual_routes]
                  + [("rule", rule, None) for rule in inst.virtual_rules])

    def remove_instance(self, name: str) -> None:
        self._devs.pop(name, None)
        self._remove(name)

    def restore_on(self, ifnames: set[str]) -> None:
        """`ifnames` were created again (a VMAC brought back): the kernel dropped the routes through the old
        ones. Those we added go back (an instance's routes without a `dev` too: their nexthop may have been
        there); one still present stays ours."""
        for owner, entries in self.installed.items():
            label = f"({owner}) " if owner else ""
            through = owner is not None and self._devs.get(owner) in ifnames
            for _kind, entry, dev in entries:
                if not isinstance(entry, StaticRoute) or not (through or (entry.dev or dev) in ifnames):
                    continue  # rules and addresses outlive an interface
                try:
                    if routes.add_route(self.netlink, entry, dev):
                        self._log(LogLine(f"{label}added route {_text(entry)} again on {', '.join(sorted(ifnames))}",
                                          detail=True))
                except (OSError, LookupError) as exc:
                    self._log(LogLine(f"{label}cannot add route {_text(entry)} again: {exc}", level="error"))

    def prepare(self, config: Config) -> None:
        """With virtual_routes/rules configured, open pyroute2 now: the first MASTER transition
        installs them, and must not wait for its import."""
        if any(inst.virtual_routes or inst.virtual_rules for inst in config.instances):
            self.netlink.open_pyroute2()

    def add_static(self, config: Config) -> None:
        """At start-up: static_ipaddress/routes/rules go in (and pyroute2 opens if routes will need it)."""
        self.prepare(config)
        dev = config.global_defs.default_interface
        self._add(None, [("address", address, address.dev or dev) for address in config.static_addresses]
                  + [("route", route, None) for route in config.static_routes]
                  + [("rule", rule, None) for rule in config.static_rules])

    def remove_static(self) -> None:
        self._remove(None)

    def reload(self, old: Config, new: Config) -> None:
        """Reinstall what a reload changed: static entries, and the virtual routes/rules of held instances."""
        def static(config: Config) -> tuple[object, ...]:
            return (config.static_addresses, config.static_routes, config.static_rules,
                    config.global_defs.default_interface)

        if static(old) != static(new):
            self.remove_static()
            self.add_static(new)
        before = {i.name: i for i in old.instances}
        for inst in new.instances:
            was = before.get(inst.name)
            if inst.name not in self.installed or was is None:
                continue
            if (was.virtual_routes, was.virtual_rules) != (inst.virtual_routes, inst.virtual_rules):
                dev = self._devs.get(inst.name)
                self.remove_instance(inst.name)
                self.add_instance(inst, dev)


def _text(entry: StaticRoute | PolicyRule | VirtualAddress) -> str:
    return entry.text if isinstance(entry, (StaticRoute, PolicyRule)) else str(entry)
