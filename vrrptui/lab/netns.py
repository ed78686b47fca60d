"""A reusable network-namespace lab: one bridge namespace, router and client namespaces on it.

Everything that sends or sniffs VRRP runs inside namespaces this module creates, never in
the root namespace. Names start with `vrrptui-` and carry a per-run suffix unless fixed
names are given (the `vrrptui lab` demo). `Lab.down()` removes every namespace and process
the lab made; it runs from `__exit__` and from atexit, so a failing test still cleans up.

No textual here: the tests, `vrrptui lab` and the benchmarks import this.
"""

from __future__ import annotations

import atexit
import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from vrrptui.lab.namespaces import (
    PREFIX, LabError, destroy_namespace, keepalived_binary, list_namespaces, namespace_pids, run_ip, service_command,
    wait_for,
)
from vrrptui.lab.witness import Capture, Pinger, SeenAdvert, parse_advert

BRIDGE = "bridge"
T = TypeVar("T")

# --- the lab -------------------------------------------------------------------------------


VIP = "192.168.1.100"  # on the default Lab's 192.168.1.0/24, clear of its hosts (.2, .11, .12, ...)


def fast_v3_conf(priority: int, *, state: str = "BACKUP", extra: str = "", top: str = "", vrid: int = 51,
                 name: str = "VI_1") -> str:
    """keepalived.conf text for the default Lab's routers: one VRRPv3 instance on eth0 with VIP/24.

    0.1 s adverts keep Master_Down_Interval near 0.36 s, so a test sees elections quickly.
    TOP goes before the instance (global_defs, scripts), EXTRA inside it.
    """
    return f"""
{top}
vrrp_instance {name} {{
    state {state}
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        {VIP}/24
    }}
    {extra}
}}
"""


@dataclass
class _Node:
    name: str
    ns: str
    port: str  # bridge-side veth
    v4: str | None
    v6: str | None
    role: str  # "router" or "client"


class Lab:
    """A bridge namespace with one veth port per router and per client namespace.

    Node "bridge" is the bridge namespace (interface `bridge_name`). Each router/client
    namespace has lo up and its veth as IFNAME with an IPv4 address in V4_NET, an IPv6 address
    in V6_NET (plus the kernel's link-local) and DAD disabled so addresses work at once.

        with Lab(routers=("r1", "r2")) as lab:
            ka = lab.start_keepalived("r1", conf)
            lab.wait_for(lambda: lab.has_vip("r1", "192.168.1.100"), 5)
    """

    def __init__(
        self,
        routers: Sequence[str] = ("r1", "r2"),
        *,
        clients: Sequence[str] = ("pc1",),
        name: str | None = None,
        ifname: str = "eth0",
        client_ifname: str | None = None,
        v4_net: str = "192.168.1.0/24",
        router_v4: Mapping[str, str] | None = None,
        client_v4: Mapping[str, str] | None = None,
        v6_net: str = "2001:db8:1::/64",
        router_v6: Mapping[str, str] | None = None,
        client_v6: Mapping[str, str] | None = None,
        fixed_names: Mapping[str, str] | None = None,
        port_names: Mapping[str, str] | None = None,
        bridge_name: str = "br0",
        workdir: str | Path | None = None,
        persistent: bool = False,
        up: bool = True,
    ):
        """FIXED_NAMES maps node (and "bridge") to a namespace name; PERSISTENT labs are not
        torn down at interpreter exit (`vrrptui lab up`), ordinary ones always are."""
        for n in (*routers, *clients):
            if n == BRIDGE:
                raise LabError('"bridge" is the bridge namespace\'s node name; pick another router/client name')
        if len(set((*routers, *clients))) != len(routers) + len(clients):
            raise LabError(f"node names must be unique: {list(routers) + list(clients)}")
        self.routers = tuple(routers)
        self.clients = tuple(clients)
        self.ifname = ifname
        self.client_ifname = client_ifname or ifname
        self.bridge_name = bridge_name
        self.v4_net = ipaddress.ip_network(v4_net)
        self.v6_net = ipaddress.ip_network(v6_net)
        self.tag = name or f"{os.getpid():x}{secrets.token_hex(2)}"
        self.persistent = persistent
        fixed = dict(fixed_names or {})
        ports = dict(port_names or {})
        self._nodes: dict[str, _Node] = {}
        self._nodes[BRIDGE] = _Node(BRIDGE, fixed.get(BRIDGE, f"{PREFIX}{self.tag}-br"), "", None, None, "bridge")
        for i, r in enumerate(self.routers):
            v4 = (router_v4 or {}).get(r) or str(self.v4_net.network_address + 11 + i)
            v6 = (router_v6 or {}).get(r) or str(self.v6_net.network_address + int(f"{11 + i}", 16))
            self._add_node(r, "router", v4, v6, fixed, ports)
        for i, c in enumerate(self.clients):
            v4 = (client_v4 or {}).get(c) or str(self.v4_net.network_address + 2 + i)
            v6 = (client_v6 or {}).get(c) or str(self.v6_net.network_address + 2 + i)
            self._add_node(c, "client", v4, v6, fixed, ports)
        for node in self._nodes.values():
            if not node.ns.startswith(PREFIX):
                raise LabError(f"namespace {node.ns!r} for {node.name}: lab namespaces must start with {PREFIX!r}")
            if len(node.port) > 15:
                raise LabError(f"interface name {node.port!r} is longer than 15 characters")
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"vrrptui-lab-{self.tag}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._procs: list[subprocess.Popen[Any]] = []
        self._captures: list[Capture] = []
        self._pingers: list[Pinger] = []
        self._created: list[str] = []
        self._is_up = False
        if not persistent:
            atexit.register(self.down)
        if up:
            try:
                self.up()
            except BaseException:
                self.down()
                raise

    def _add_node(self, n: str, role: str, v4: str, v6: str, fixed: dict[str, str], ports: dict[str, str]) -> None:
        ns = fixed.get(n, f"{PREFIX}{self.tag}-{n}")
        port = ports.get(n, f"p-{n}"[:15])
        self._nodes[n] = _Node(n, ns, port, v4, v6, role)

    # -- life cycle --

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        """Create the namespaces, the bridge and the veth pairs; addresses up and usable."""
        if self._is_up:
            return
        existing = set(list_namespaces())
        clash = [n.ns for n in self._nodes.values() if n.ns in existing]
        if clash:
            raise LabError(f"namespaces already exist: {', '.join(clash)} (run `vrrptui lab down` or pick other names)")
        for node in self._nodes.values():
            run_ip(["netns", "add", node.ns])
            self._created.append(node.ns)
        self._is_up = True
        br = self._nodes[BRIDGE]
        # The bridge namespace only switches frames: no IPv6 of its own keeps captures clean.
        self._sysctl(BRIDGE, {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"})
        for n in self.nodes:
            # accept_dad=0: addresses are usable at once instead of after ~1 s of DAD.
            self._sysctl(n, {"net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"})
        batch = ["link set lo up",
                 f"link add {self.bridge_name} type bridge stp_state 0 forward_delay 0 mcast_snooping 0"]
        for n in self.nodes:
            node = self._nodes[n]
            batch += [
                f"link add {node.port} type veth peer name {self.iface(n)} netns {node.ns}",
                f"link set {node.port} master {self.bridge_name}",
                f"link set {node.port} up",
            ]
        batch.append(f"link set {self.bridge_name} up")
        self._batch(br.ns, batch)
        for n in self.nodes:
            node = self._nodes[n]
            ifname = self.iface(n)
            self._batch(node.ns, [
                "link set lo up",
                f"addr add {node.v4}/{self.v4_net.prefixlen} dev {ifname}",
                f"addr add {node.v6}/{self.v6_net.prefixlen} dev {ifname} nodad",
                f"link set {ifname} up",
            ])
        for n in self.nodes:
            if not wait_for(partial(self.link_local, n), timeout=5):
                raise LabError(f"{self.ns(n)}: no IPv6 link-local address on {self.iface(n)} after 5 s")

    def down(self) -> None:
        """Stop every process the lab started and delete every namespace it created. Idempotent."""
        for pinger in self._pingers:
            try:
                pinger.stop()
            except Exception:
                pass
        for cap in self._captures:
            try:
                cap.stop()
            except Exception:
                pass
        for proc in self._procs:
            if proc.poll() is None:
                try:
                    self.stop(proc, signal.SIGTERM, timeout=3)
                except Exception:
                    pass
        self._procs.clear()
        self._pingers.clear()
        self._captures.clear()
        for ns in reversed(self._created):
            try:
                destroy_namespace(ns)
            except Exception:
                pass
        self._created = [ns for ns in self._created if ns in list_namespaces()]
        self._is_up = False
        if self._own_workdir and not self.persistent and not os.environ.get("VRRPTUI_LAB_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- naming --

    @property
    def nodes(self) -> tuple[str, ...]:
        """Routers then clients (not the bridge)."""
        return (*self.routers, *self.clients)

    @property
    def namespaces(self) -> list[str]:
        return [n.ns for n in self._nodes.values()]

    def _node(self, node: str) -> _Node:
        try:
            return self._nodes[node]
        except KeyError:
            raise LabError(f"no node {node!r} in this lab (nodes: {BRIDGE}, {', '.join(self.nodes)})") from None

    def ns(self, node: str) -> str:
        return self._node(node).ns

    def iface(self, node: str) -> str:
        """The node's interface on the segment (the bridge itself for "bridge")."""
        n = self._node(node)
        if n.role == BRIDGE:
            return self.bridge_name
        return self.ifname if n.role == "router" else self.client_ifname

    def port(self, node: str) -> str:
        """The bridge-side veth of NODE (what cut/heal switch)."""
        return self._node(node).port

    def ip4(self, node: str) -> str:
        v4 = self._node(node).v4
        if v4 is None:
            raise LabError(f"{node} has no address")
        return v4

    def ip6(self, node: str) -> str:
        v6 = self._node(node).v6
        if v6 is None:
            raise LabError(f"{node} has no address")
        return v6

    def link_local(self, node: str) -> str | None:
        for a in self._addr_json(node, self.iface(node)):
            if a.get("family") == "inet6" and a.get("scope") == "link" and "tentative" not in a:
                return str(a["local"])
        return None

    def mac(self, node: str) -> str:
        out = self.exec(node, ["ip", "-j", "link", "show", "dev", self.iface(node)], check=True).stdout
        return str(json.loads(out)[0]["address"])

    def node_dir(self, node: str) -> Path:
        d = self.workdir / node
        d.mkdir(parents=True, exist_ok=True)
        return d

    # -- running things --

    def exec(self, node: str, argv: Sequence[str], *, check: bool = False,
             **kw: Any) -> subprocess.CompletedProcess[str]:
        """Run ARGV in NODE's namespace and wait (text, output captured unless overridden)."""
        kw.setdefault("text", True)
        if "stdout" not in kw and "stderr" not in kw:
            kw.setdefault("capture_output", True)
        proc = subprocess.run(["ip", "netns", "exec", self.ns(node), *argv], **kw)
        if check and proc.returncode != 0:
            raise LabError(f"{self.ns(node)}: `{' '.join(argv)}` exited {proc.returncode}: {proc.stderr or ''}".strip())
        return proc

    def popen(self, node: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start ARGV in NODE's namespace in its own session; tracked and stopped by down()."""
        kw.setdefault("start_new_session", True)
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns(node), *argv], **kw)
        proc.node = node  # type: ignore[attr-defined]
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Send SIG to PROC and wait for it; SIGKILL after TIMEOUT s. Returns the exit code."""
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return int(proc.returncode)

    def kill_tree(self, proc: subprocess.Popen[Any]) -> None:
        """kill -9 of a daemon and all its processes at once (a cgroup's SIGKILL: `systemctl kill -s KILL vrrptui`)."""
        kill_tree(proc)

    def _batch(self, ns: str, commands: Iterable[str]) -> None:
        run_ip(["-n", ns, "-batch", "-"], input="\n".join(commands) + "\n")

    def _sysctl(self, node: str, values: Mapping[str, str]) -> None:
        self.exec(node, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in values.items())], check=True)

    def sysctl(self, node: str, values: Mapping[str, str]) -> None:
        """Set sysctls inside NODE's namespace (e.g. ip_forward for a routing demo)."""
        self._sysctl(node, values)

    # -- links --

    def cut(self, node: str) -> None:
        """Cable pull: the bridge-side port goes down, NODE loses carrier."""
        run_ip(["-n", self.ns(BRIDGE), "link", "set", self.port(node), "down"])

    def heal(self, node: str) -> None:
        """Plug the cable back in."""
        run_ip(["-n", self.ns(BRIDGE), "link", "set", self.port(node), "up"])

    # -- observing --

    def capture(self, node: str = BRIDGE, bpf: str = "vrrp or arp", *, iface: str | None = None,
                name: str | None = None) -> Capture:
        """Start tcpdump in NODE's namespace (on the bridge by default: sees every frame)."""
        base = name or f"{node}-{len(self._captures)}"
        cap = Capture(self, node, iface or self.iface(node), bpf, self.workdir / f"{base}.pcap")
        self._captures.append(cap)
        return cap

    def pinger(self, node: str, target: str, interval: float = 0.01, timeout: float = 0.1) -> Pinger:
        p = Pinger(self, node, target, interval, timeout)
        self._pingers.append(p)
        return p

    def _addr_json(self, node: str, dev: str | None = None) -> list[dict[str, Any]]:
        argv = ["ip", "-j", "addr", "show"] + (["dev", dev] if dev else [])
        out = self.exec(node, argv).stdout.strip()
        result: list[dict[str, Any]] = []
        for link in json.loads(out or "[]"):
            for a in link.get("addr_info", []):
                result.append({**a, "ifname": link.get("ifname")})
        return result

    def addresses(self, node: str, *, with_prefix: bool = False) -> set[str]:
        """Addresses on NODE's non-loopback interfaces ("192.168.1.13" or "192.168.1.13/24")."""
        return {
            f"{a['local']}/{a['prefixlen']}" if with_prefix else str(a["local"])
            for a in self._addr_json(node)
            if a.get("ifname") != "lo"
        }

    def has_vip(self, node: str, addr: str) -> bool:
        """Is ADDR (prefix optional; with a prefix it must match too) configured on NODE?"""
        return addr in self.addresses(node, with_prefix="/" in addr)

    def vip_holders(self, addr: str) -> list[str]:
        """The routers on which ADDR is configured right now (one, unless split brain)."""
        return [r for r in self.routers if self.has_vip(r, addr)]

    def neigh(self, node: str) -> list[dict[str, Any]]:
        """`ip -j neigh` in NODE: [{"dst": ..., "lladdr": ..., "state": [...]}, ...]."""
        out = self.exec(node, ["ip", "-j", "neigh", "show"]).stdout.strip()
        return list(json.loads(out or "[]"))

    @staticmethod
    def wait_for(pred: Callable[[], T], timeout: float, interval: float = 0.01) -> T:
        return wait_for(pred, timeout, interval)

    # -- VRRP peers --

    def start_keepalived(self, node: str, conf_text: str, extra_args: Sequence[str] = (),
                         tag: str = "keepalived") -> subprocess.Popen[Any]:
        """Run Debian's keepalived (VRRP only, foreground, detailed log) in NODE.

        Its config, pid files and log live in the lab's directory for this node, so it never
        meets another keepalived on the host. `proc.log_path` is its console log.
        """
        d = self.node_dir(node)
        conf = d / f"{tag}.conf"
        conf.write_text(conf_text, encoding="utf-8")
        log = d / f"{tag}.log"
        argv = [
            keepalived_binary(), "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
            "--use-file", str(conf),
            "--pid", str(d / f"{tag}.pid"), "--vrrp_pid", str(d / f"{tag}-vrrp.pid"),
            "--checkers_pid", str(d / f"{tag}-checkers.pid"), "--bfd_pid", str(d / f"{tag}-bfd.pid"),
            *extra_args,
        ]
        with open(log, "ab") as out:
            proc = self.popen(node, argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        proc.log_path = log  # type: ignore[attr-defined]
        proc.conf_path = conf  # type: ignore[attr-defined]
        return proc

    def vrrptui_argv(self, node: str, conf_path: Path | str, extra_args: Sequence[str] = ()) -> list[str]:
        """The command `start_vrrptui` runs inside NODE (without the `ip netns exec` prefix): the daemon as the
        systemd unit starts it (`PYTHON -S vrrptui`, namespaces.service_command)."""
        return [*service_command(), "--headless", str(conf_path), *extra_args]

    def start_vrrptui(self, node: str, conf_text: str, extra_args: Sequence[str] = (),
                      tag: str = "vrrptui", private_runtime: bool = True) -> subprocess.Popen[Any]:
        """Run `vrrptui --headless CONF` in NODE; `proc.log_path` is its log.

        With PRIVATE_RUNTIME, VRRPTUI_RUNTIME_DIR is a per-node directory (`proc.runtime_dir`), so
        tests running beside each other never see one another's control sockets; without it the
        daemon uses /run/vrrptui like any other and `vrrptui status` on the host finds it.
        """
        d = self.node_dir(node)
        conf = d / f"{tag}.conf"
        conf.write_text(conf_text, encoding="utf-8")
        log = d / f"{tag}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if private_runtime:
            env["VRRPTUI_RUNTIME_DIR"] = str(d / "run")
        with open(log, "ab") as out:
            proc = self.popen(node, self.vrrptui_argv(node, conf, extra_args), stdout=out,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        proc.log_path = log  # type: ignore[attr-defined]
        proc.conf_path = conf  # type: ignore[attr-defined]
        proc.runtime_dir = env.get("VRRPTUI_RUNTIME_DIR")  # type: ignore[attr-defined]
        return proc

    @staticmethod
    def log(proc: subprocess.Popen[Any]) -> str:
        """The console log of a process started by start_keepalived / start_vrrptui."""
        path = getattr(proc, "log_path", None)
        if path is None:
            return ""
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return ""

    def processes(self) -> dict[str, list[int]]:
        """Live pids per namespace (the kernel's view, not only the tracked ones)."""
        return {n.ns: namespace_pids(n.ns) for n in self._nodes.values() if n.ns in self._created}


__all__ = [
    "BRIDGE", "Capture", "Lab", "LabError", "Pinger", "SeenAdvert", "destroy_namespace",
    "list_namespaces", "namespace_pids", "parse_advert", "wait_for",
]


def kill_tree(proc: subprocess.Popen[Any]) -> None:
    """kill -9 of the daemon and its children at once: all stopped first, then killed. Killed one by one,
    keepalived's VRRP child (parent-death signal SIGTERM) could remove its VIPs between its parent's kill
    and its own, and vrrptui's guardian (daemon/guardian.py) resigns for the daemon: no stale VIP and no
    two holders, which kill -9 of the whole daemon does not give (tests/unit/test_bench_kill_tree.py)."""
    import psutil

    try:
        tree = [psutil.Process(proc.pid)]
        tree += tree[0].children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    for p in tree:
        try:
            p.send_signal(signal.SIGSTOP)
        except psutil.NoSuchProcess:
            pass
    for p in tree:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    proc.wait()
