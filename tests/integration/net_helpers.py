"""Minimal namespace plumbing for the vrrptui.net tests (the full lab lives in vrrptui.lab).

Namespaces are created with unique `vrrptui-` names and always deleted. Code under test
runs in this process after `in_netns(name)` moved the calling thread into the namespace
(setns(2)); sockets and netlink handles keep the namespace they were created in, so
every object is created inside the `with in_netns(...)` block that uses it.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


def unique_name(tag: str) -> str:
    return f"vrrptui-{tag}-{os.getpid()}-{secrets.token_hex(3)}"


def ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def nsexec(ns: str, *argv: str, check: bool = True) -> str:
    done = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} in {ns}: {done.stderr.strip()}")
    return done.stdout


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def enter_netns(name: str) -> None:
    """Move this thread into network namespace `name` for good (a thread that lives there)."""
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(target)
    finally:
        os.close(target)


@contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the body with this thread inside network namespace `name`, then come back."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


@contextmanager
def runtime_in(name: str, runtime: Any, wait: float = 10.0) -> Iterator[None]:
    """`runtime` (a vrrptui Runtime) run in a thread inside namespace `name`, as the console hosts it:
    started before the body, stopped and joined after it."""

    def run() -> None:
        enter_netns(name)
        runtime.run_forever()

    thread = threading.Thread(target=run, name="vrrptui-runtime", daemon=True)
    thread.start()
    try:
        assert runtime.started.wait(wait) and runtime.start_error is None, runtime.start_error
        yield
    finally:
        runtime.stop()
        thread.join(wait)


@contextmanager
def opened_in(name: str, factory: Callable[[], C]) -> Iterator[C]:
    """`factory()` made inside namespace `name` (its sockets stay there), closed after the body."""
    with in_netns(name):
        handle = factory()
    try:
        yield handle
    finally:
        handle.close()


@contextmanager
def namespaces(*tags: str, dad: bool = False) -> Iterator[list[str]]:
    """Fresh namespaces with lo up; IPv6 DAD off unless `dad` (so link-local addresses are usable at once)."""
    names: list[str] = []
    try:
        for tag in tags:
            name = unique_name(tag)
            ip("netns", "add", name)
            names.append(name)
            ip("-n", name, "link", "set", "lo", "up")
            for key in () if dad else ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"):
                nsexec(name, "sysctl", "-qw", key)
        yield names
    finally:
        for name in names:
            ip("netns", "del", name, check=False)


def veth(ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
    """A veth pair created inside ns_a with its peer moved straight to ns_b; both up."""
    ip("-n", ns_a, "link", "add", "name", if_a, "type", "veth", "peer", "name", if_b, "netns", ns_b)
    ip("-n", ns_a, "link", "set", if_a, "up")
    ip("-n", ns_b, "link", "set", if_b, "up")


def link_mac(ns: str, ifname: str) -> str:
    out = ip("-n", ns, "-o", "link", "show", ifname)
    return out.split("link/ether ", 1)[1].split()[0]


def wait_for(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll until predicate() is truthy; return its value or raise AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


class Tcpdump:
    """tcpdump inside a namespace as an independent witness; `stop()` returns its text output."""

    def __init__(self, ns: str, ifname: str, expression: str = "", *, extra: tuple[str, ...] = ()) -> None:
        argv = ["ip", "netns", "exec", ns, "tcpdump", "-i", ifname, "-n", "-l", "-vv", "-e", *extra]
        if expression:
            argv.append(expression)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        # tcpdump prints "listening on" once the capture is active
        deadline = time.monotonic() + 10
        seen = ""
        while "listening on" not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.proc.kill()
                raise RuntimeError(f"tcpdump did not start in {ns}: {seen}")
            ready, _, _ = select.select([self.proc.stderr], [], [], remaining)
            if ready:
                seen += self.proc.stderr.readline()

    def stop(self) -> str:
        if self.proc.poll() is None:
            time.sleep(0.2)  # let the last packets reach tcpdump's output
            self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out

    def __enter__(self) -> Tcpdump:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
