"""The lab's witnesses: tcpdump captures (adverts as tcpdump prints them) and a pinging client."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vrrptui.lab.namespaces import LabError, wait_for


class Lab(Protocol):
    """What a witness needs of vrrptui.lab.netns.Lab."""

    def ns(self, node: str) -> str: ...

    def popen(self, node: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]: ...

# --- capture -------------------------------------------------------------------------------

_ADVERT_RE = re.compile(
    r"^(?P<time>\d+\.\d+) .*?(?P<src>[0-9a-fA-F.:]+) > (?P<dst>[0-9a-fA-F.:]+): "
    r"VRRPv(?P<version>\d), Advertisement, vrid (?P<vrid>\d+), prio (?P<priority>\d+), "
    r"(?:authtype (?P<auth>\w+), )?intvl (?P<interval>\d+)(?P<unit>s|cs)"
)


@dataclass(frozen=True)
class SeenAdvert:
    """One VRRP advert as tcpdump printed it (times are epoch seconds, interval in seconds)."""

    time: float
    src: str
    dst: str
    version: int
    vrid: int
    priority: int
    interval: float
    line: str


def parse_advert(line: str) -> SeenAdvert | None:
    """Parse a `tcpdump -n -tt` line (continuation lines joined) into a SeenAdvert."""
    m = _ADVERT_RE.search(line)
    if not m:
        return None
    value = int(m["interval"])
    return SeenAdvert(
        time=float(m["time"]),
        src=m["src"],
        dst=m["dst"],
        version=int(m["version"]),
        vrid=int(m["vrid"]),
        priority=int(m["priority"]),
        interval=value / 100.0 if m["unit"] == "cs" else float(value),
        line=line,
    )


class Capture:
    """tcpdump -U -w PCAP running in a lab namespace until stop().

    --immediate-mode: without it TPACKET_V3 holds packets in a ring block, and a capture
    stopped soon after the traffic loses them ("N received by filter, 0 captured").
    """

    def __init__(self, lab: Lab, node: str, iface: str, bpf: str, path: Path, snaplen: int = 262144):
        self.lab, self.node, self.iface, self.bpf, self.path = lab, node, iface, bpf, path
        argv = ["tcpdump", "-n", "-U", "--immediate-mode", "-B", "16384", "-Z", "root", "-s", str(snaplen), "-i",
                iface, "-w", str(path)]
        if bpf:
            argv.append(bpf)
        self._stderr_path = path.with_suffix(".stderr")
        stderr = open(self._stderr_path, "w+")
        self.proc = lab.popen(node, argv, stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.close()
        # tcpdump says "listening on IF" once the socket and filter are in place.
        ok = wait_for(lambda: "listening on" in self.stderr() or self.proc.poll() is not None, timeout=10)
        if not ok or self.proc.poll() is not None:
            raise LabError(f"tcpdump in {lab.ns(node)} on {iface} did not start: {self.stderr().strip()}")

    def stderr(self) -> str:
        try:
            return self._stderr_path.read_text()
        except OSError:
            return ""

    def stop(self) -> Path:
        """Stop tcpdump (SIGINT, so it flushes) and return the pcap path."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.path

    def read(self, extra_args: Sequence[str] = (), *, join: bool = True) -> list[str]:
        """`tcpdump -n -tt -r PCAP EXTRA...`; with JOIN each packet is one line (-v continuations joined)."""
        out = subprocess.run(
            ["tcpdump", "-n", "-tt", "-r", str(self.path), *extra_args],
            capture_output=True, text=True,
        ).stdout
        lines: list[str] = []
        for raw in out.splitlines():
            if join and lines and raw[:1].isspace():
                lines[-1] += " " + raw.strip()
            else:
                lines.append(raw)
        return lines

    def adverts(self) -> list[SeenAdvert]:
        """The VRRP adverts in the capture so far, in order (works while still running)."""
        return [a for a in (parse_advert(line) for line in self.read()) if a is not None]


# --- ping ----------------------------------------------------------------------------------

_REPLY_RE = re.compile(r"^\[(?P<time>\d+\.\d+)\] \d+ bytes from .*icmp_seq=(?P<seq>\d+)")


class Pinger:
    """Background `ping -D` from a lab node; parses replies as they arrive."""

    def __init__(self, lab: Lab, node: str, target: str, interval: float = 0.01, timeout: float = 0.1):
        self.target = target
        self.interval = interval
        self.replies: list[tuple[float, int]] = []  # (epoch time, icmp_seq)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        argv = ["ping", "-n", "-D", "-O", "-i", f"{interval:g}", "-W", f"{timeout:g}", target]
        if ":" in target:
            argv.insert(1, "-6")
        # stdbuf: ping's stdout is a pipe here, keep it line buffered so timestamps arrive live.
        if shutil.which("stdbuf"):
            argv = ["stdbuf", "-oL", *argv]
        self.proc = lab.popen(node, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            with self._lock:
                self.lines.append(line)
                m = _REPLY_RE.match(line)
                if m:
                    self.replies.append((float(m["time"]), int(m["seq"])))

    def reply_times(self) -> list[float]:
        with self._lock:
            return [t for t, _ in self.replies]

    def replies_since(self, t: float) -> int:
        return sum(1 for r in self.reply_times() if r >= t)

    def outage(self, start: float | None = None, end: float | None = None) -> float:
        """Longest gap in seconds between consecutive replies (optionally within [start, end]), counting from
        the last reply before START: an outage that begins at START (a fault injected then) is counted whole.

        Only gaps closed by a reply count: wait for replies to resume before asking.
        """
        times = self.reply_times()
        if start is not None:
            times = [t for t in times if t < start][-1:] + [t for t in times if t >= start]
        times = [t for t in times if end is None or t <= end]
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=3)
