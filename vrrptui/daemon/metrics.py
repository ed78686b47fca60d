"""`--metrics ADDR:PORT`: /metrics for Prometheus, with the keepalived exporters' names.

Existing dashboards and alerts for keepalived (mehdy/keepalived-exporter,
gen2brain/keepalived_exporter) work unchanged: `keepalived_up`,
`keepalived_vrrp_state{iname,intf,vrid,ip_address}` (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT;
one series per VIP, ip_address without its prefix length), the per-instance counters
`keepalived_*_total{iname,intf,vrid}` and `keepalived_script_status{name}` (1 GOOD, 0 BAD).
keepalived's three authentication counters: vrrptui has one reason for an advert whose
authentication does not match ours, counted as authentication_failure.

What only vrrptui knows, as `vrrptui_*`: effective priority and why, the master-down
countdown, peers heard per VRID, split brain (this router is MASTER while another source
keeps advertising as master: at least two adverts with priority > 0 since we became master
and within Master_Down_Interval, the console's rule), the last takeover as this router saw
it (old master's last advert to our becoming MASTER), drops by reason, and with `--drills
PATH` the console's drills for this config (takeover, theory, client outage of the last one).

Scrapes are answered from the HTTP server's thread; everything is computed on the
runtime's loop (one call per scrape), so the engine is never read from two threads.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client import make_wsgi_app
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vrrptui.daemon.sockpool import recv_interface
from vrrptui.engine.outputs import State, StateChanged
from vrrptui.engine.status import InstanceStatus
from vrrptui.protocol.packet import Advert
from vrrptui.records import Heard

Key = tuple[str, int, int]  # (interface adverts are received on, VRID, family)
STATE_VALUE = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}
SCRAPE_TIMEOUT = 2.0  # seconds to wait for the loop's answer before keepalived_up 0
HEARD_WINDOW_INTERVALS = 3  # a source counts as heard while its last advert is this many intervals old
# keepalived counter -> the vrrptui drop reasons it sums
KEEPALIVED_DROPS = {
    "packet_length_errors": ("short", "length", "count"),
    "advertisements_interval_errors": ("interval",),
    "ip_ttl_errors": ("ttl",),
    "invalid_type_received": ("type", "version"),
    "address_list_errors": ("address_list",),
    "authentication_invalid": (),
    "authentication_mismatch": (),
    "authentication_failure": ("auth",),
}
COUNTERS = {  # keepalived name -> (Counters field, help)
    "advertisements_received": ("adverts_received", "Advertisements received"),
    "advertisements_sent": ("adverts_sent", "Advertisements sent"),
    "become_master": ("became_master", "Became master"),
    "release_master": ("released_master", "Released master"),
    "priority_zero_received": ("priority_zero_received", "Priority zero received"),
    "priority_zero_sent": ("priority_zero_sent", "Priority zero sent"),
}


def parse_address(text: str) -> tuple[str, int]:
    """`ADDR:PORT`, `[V6]:PORT` or `:PORT` (every address) -> (addr, port). Raises ValueError."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--metrics {text!r}: use ADDR:PORT, e.g. 127.0.0.1:9165 or [::1]:9165")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if host:
        ipaddress.ip_address(host)  # ValueError for a name: bind an address
    return host or "0.0.0.0", int(port)


@dataclass
class _Source:
    adverts: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=64))  # (at, priority)


@dataclass
class _Vrid:
    sources: dict[str, _Source] = field(default_factory=dict)
    last_master: tuple[str, float] | None = None  # (src, at) of the last advert with priority > 0


class Watch:
    """The runtime's observer when --metrics is on: who is heard per VRID, takeovers, split brain.

    Called on the runtime's loop with batches of observations; bounded (64 adverts per
    source, sources beyond MAX_SOURCES per VRID ignored).
    """

    MAX_SOURCES = 16

    def __init__(self, key_of: Callable[[str], Key | None]) -> None:
        self.key_of = key_of  # instance -> (interface adverts are received on, VRID, family)
        self.vrids: dict[Key, _Vrid] = {}
        self.master_since: dict[str, float] = {}
        self.takeover: dict[str, float] = {}  # instance -> seconds, last takeover seen here

    def __call__(self, batch: Iterable[Any]) -> None:
        for item in batch:
            kind = type(item)
            if kind is Heard and not item.outgoing and isinstance(item.result, Advert):
                self._heard(item)
            elif kind is StateChanged:
                self._state(item)

    def _heard(self, p: Heard) -> None:
        advert = p.result
        assert isinstance(advert, Advert)
        key = (p.ifname, advert.vrid, p.src.version)
        vrid = self.vrids.setdefault(key, _Vrid())
        src = str(p.src)
        source = vrid.sources.get(src)
        if source is None:
            if len(vrid.sources) >= self.MAX_SOURCES:
                return
            source = vrid.sources[src] = _Source()
        source.adverts.append((p.at, advert.priority))
        if advert.priority > 0:
            vrid.last_master = (src, p.at)

    def _state(self, change: StateChanged) -> None:
        if change.new is State.MASTER:
            self.master_since[change.instance] = change.at
            key = self.key_of(change.instance)
            vrid = self.vrids.get(key) if key else None
            if vrid is not None and vrid.last_master is not None:
                self.takeover[change.instance] = change.at - vrid.last_master[1]
        else:
            self.master_since.pop(change.instance, None)

    def peers_heard(self, key: Key, status: InstanceStatus, now: float) -> int:
        vrid = self.vrids.get(key)
        if vrid is None:
            return 0
        window = HEARD_WINDOW_INTERVALS * max(status.advert_int, status.learned_advert_int or 0.0)
        return sum(1 for src, s in vrid.sources.items()
                   if src != status.primary_address and s.adverts and now - s.adverts[-1][0] <= window)

    def split_brain(self, key: Key, status: InstanceStatus, now: float) -> bool:
        since = self.master_since.get(status.name, status.state_since)  # MASTER before we watched
        vrid = self.vrids.get(key)
        if status.state != "MASTER" or vrid is None:
            return False
        window = max(status.master_down_interval, 3 * status.advert_int)
        for src, s in vrid.sources.items():
            if src == status.primary_address:
                continue
            if sum(1 for at, prio in s.adverts if prio > 0 and at > since and now - at <= window) >= 2:
                return True
        return False


@dataclass(frozen=True)
class Sample:
    """Everything one scrape needs, computed on the loop."""

    now: float
    statuses: tuple[InstanceStatus, ...]
    interfaces: dict[str, str]  # instance -> the interface adverts are received on
    peers: dict[str, int]
    split: dict[str, bool]
    takeover: dict[str, float]
    scripts: dict[str, bool]  # vrp_script name -> ok


class RuntimeCollector(Collector):
    def __init__(self, runtime: Any, watch: Watch) -> None:
        self.runtime = runtime
        self.watch = watch

    def sample(self) -> Sample:
        """On the loop thread."""
        rt, watch = self.runtime, self.watch
        now = rt.loop.time()
        statuses = rt.status_now()
        interfaces, peers, split = {}, {}, {}
        for s in statuses:
            key = watch.key_of(s.name) or (s.interface or "", s.vrid, s.family)
            interfaces[s.name] = s.interface or key[0]
            peers[s.name] = watch.peers_heard(key, s, now)
            split[s.name] = watch.split_brain(key, s, now)
        scripts = {}
        for s in statuses:
            for name, state, _weight in s.trackers:
                if state in ("ok", "failing"):
                    scripts[name] = state == "ok"
        return Sample(now, statuses, interfaces, peers, split, dict(watch.takeover), scripts)

    def _sample_from_loop(self) -> Sample | None:
        loop = self.runtime.loop
        if loop is None or loop.is_closed() or self.runtime.engine is None:
            return None
        future: concurrent.futures.Future[Sample] = concurrent.futures.Future()

        def compute() -> None:
            try:
                future.set_result(self.sample())
            except Exception as exc:
                future.set_exception(exc)

        try:
            loop.call_soon_threadsafe(compute)
            return future.result(SCRAPE_TIMEOUT)
        except (RuntimeError, concurrent.futures.TimeoutError):
            return None

    def collect(self) -> Iterator[Metric]:
        sample = self._sample_from_loop()
        up = GaugeMetricFamily("keepalived_up", "Status")
        up.add_metric([], 1.0 if sample is not None else 0.0)
        yield up
        if sample is not None:
            yield from families(sample)


def families(sample: Sample) -> Iterator[Metric]:
    labels = ["iname", "intf", "vrid"]
    state = GaugeMetricFamily("keepalived_vrrp_state", "State of vrrp (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT)",
                              labels=[*labels, "ip_address"])
    counters = {name: CounterMetricFamily(f"keepalived_{name}", text, labels=labels)
                for name, (_field, text) in COUNTERS.items()}
    errors = {name: CounterMetricFamily(f"keepalived_{name}", name.replace("_", " ").capitalize(), labels=labels)
              for name in KEEPALIVED_DROPS}
    drops = CounterMetricFamily("vrrptui_dropped_adverts", "Received packets not used, by reason (reasons seen)",
                                labels=[*labels, "reason"])
    effective = GaugeMetricFamily("vrrptui_effective_priority", "Priority advertised now and why "
                                  "(reason: configured, a tracker, operator)", labels=[*labels, "reason"])
    configured = GaugeMetricFamily("vrrptui_configured_priority", "Priority in the config", labels=labels)
    countdown = GaugeMetricFamily("vrrptui_master_down_seconds", "BACKUP: seconds until the master-down "
                                  "timer fires (-1 when not armed)", labels=labels)
    peers = GaugeMetricFamily("vrrptui_peers_heard", "Other routers heard advertising on this VRID recently",
                              labels=labels)
    split = GaugeMetricFamily("vrrptui_split_brain", "1 while this router is MASTER and another keeps "
                              "advertising as master", labels=labels)
    takeover = GaugeMetricFamily("vrrptui_takeover_seconds", "Last takeover seen here: old master's last "
                                 "advert to this router becoming MASTER", labels=labels)
    held = GaugeMetricFamily("vrrptui_operator_hold", "1 while an operator hold (demote, failover, priority) "
                             "is in force", labels=labels)
    for s in sample.statuses:
        values = [s.name, sample.interfaces.get(s.name, s.interface or ""), str(s.vrid)]
        for vip in s.vips or ("",):
            state.add_metric([*values, vip.split("/")[0]], STATE_VALUE.get(s.state, 0))
        c = s.counters
        for name, (attr, _text) in COUNTERS.items():
            counters[name].add_metric(values, getattr(c, attr))
        for name, reasons in KEEPALIVED_DROPS.items():
            errors[name].add_metric(values, sum(c.drops.get(r, 0) for r in reasons))
        for reason, n in sorted(c.drops.items()):
            if n:  # 12 reasons x 255 instances of zeros would double the scrape
                drops.add_metric([*values, reason], n)
        effective.add_metric([*values, s.priority_reason or "configured"], s.effective_priority)
        configured.add_metric(values, s.configured_priority)
        countdown.add_metric(values, -1.0 if s.master_down_at is None else max(s.master_down_at - sample.now, 0.0))
        peers.add_metric(values, sample.peers.get(s.name, 0))
        split.add_metric(values, 1.0 if sample.split.get(s.name) else 0.0)
        if s.name in sample.takeover:
            takeover.add_metric(values, sample.takeover[s.name])
        held.add_metric(values, 1.0 if s.held else 0.0)
    scripts = GaugeMetricFamily("keepalived_script_status", "Tracker Script Status (1 GOOD, 0 BAD)", labels=["name"])
    for name, ok in sorted(sample.scripts.items()):
        scripts.add_metric([name], 1.0 if ok else 0.0)
    yield state
    yield from counters.values()
    yield from errors.values()
    yield from (drops, scripts, effective, configured, countdown, peers, split, takeover, held)


class DrillCollector(Collector):
    """The drills the console recorded for this config (`--drills PATH`), read at each scrape:
    the last drill per instance and action, and how many ended each way."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterator[Metric]:
        from vrrptui.daemon.drillfile import read_drills

        labels = ["iname", "intf", "vrid", "action"]
        takeover = GaugeMetricFamily("vrrptui_drill_takeover_seconds", "Last drill: the operator's action to the "
                                     "new master's first advert", labels=labels)
        theory = GaugeMetricFamily("vrrptui_drill_theory_seconds", "Last drill: the same as the RFC's timers "
                                   "have it", labels=labels)
        outage = GaugeMetricFamily("vrrptui_drill_client_outage_seconds", "Last drill: the lab client's longest "
                                   "time without a ping reply", labels=labels)
        count = CounterMetricFamily("vrrptui_drills", "Drills recorded, by result", labels=[*labels, "result"])
        last: dict[tuple[str, str, str, str], Any] = {}
        results: dict[tuple[str, str, str, str, str], int] = {}
        for d in read_drills(self.path):
            key = (d.instance, d.interface, str(d.vrid), d.action)
            results[(*key, d.result)] = results.get((*key, d.result), 0) + 1
            if d.takeover_ms is not None:
                last[key] = d
        for key, d in sorted(last.items()):
            takeover.add_metric(list(key), d.takeover_ms / 1000)
            if d.theory_ms is not None:
                theory.add_metric(list(key), d.theory_ms / 1000)
            if d.client_outage_ms is not None:
                outage.add_metric(list(key), d.client_outage_ms / 1000)
        for rkey, n in sorted(results.items()):
            count.add_metric(list(rkey), n)
        yield from (takeover, theory, outage, count)


MAX_SCRAPERS = 8  # connections served at once; more are closed as they come
MAX_PER_SOURCE = 2  # of them from one address: one host holding connections open leaves room for Prometheus
SCRAPE_TIMEOUT = 5.0  # seconds a connection may take to send its request or read the answer


class _QuietHandler(WSGIRequestHandler):
    timeout = SCRAPE_TIMEOUT  # StreamRequestHandler puts it on the socket: an idle client goes

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _BoundedServer(ThreadingMixIn, WSGIServer):
    """prometheus_client's server, with bounds: its own starts a thread per connection and waits on each
    for ever, so anyone who reached the port could take every file descriptor the daemon may open (its
    scripts then failed, and the daemon stopped on EMFILE)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, addr: str, port: int, app: Any) -> None:
        self.address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self._lock = threading.Lock()
        self._serving: dict[str, int] = {}  # source address -> connections being served
        super().__init__((addr, port), _QuietHandler)
        self.set_app(app)

    def server_bind(self) -> None:
        # HTTPServer's looks up the host's name (getfqdn: DNS) for CGI variables nobody reads here
        TCPServer.server_bind(self)
        self.server_name, self.server_port = "vrrptui", self.server_address[1]
        self.setup_environ()

    def process_request(self, request: Any, client_address: Any) -> None:
        source = client_address[0]
        with self._lock:
            busy = (sum(self._serving.values()) >= MAX_SCRAPERS
                    or self._serving.get(source, 0) >= MAX_PER_SOURCE)
            if not busy:
                self._serving[source] = self._serving.get(source, 0) + 1
        if busy:
            self.shutdown_request(request)  # closed at once: no thread, no descriptor kept
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done(source)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done(client_address[0])

    def _done(self, source: str) -> None:
        with self._lock:
            left = self._serving.pop(source, 1) - 1
            if left > 0:
                self._serving[source] = left

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out or went: nothing to report (the base class prints a traceback)


class MetricsServer:
    """The HTTP endpoint: start() in the process that runs the loop (after any fork)."""

    def __init__(self, address: str, runtime: Any, drills: str | None = None) -> None:
        self.addr, self.port = parse_address(address)

        def key_of(name: str) -> Key | None:
            inst = next((i for i in runtime.config.instances if i.name == name), None)
            return None if inst is None else (recv_interface(inst), inst.vrid, inst.family)

        self.watch = Watch(key_of)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(RuntimeCollector(runtime, self.watch))
        if drills is not None:
            self.registry.register(DrillCollector(drills))
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve; raises OSError (address in use, not here)."""
        self._server = _BoundedServer(self.addr, self.port, make_wsgi_app(self.registry))
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
