"""keepalived's no_accept firewall: drop traffic to and from the VIPs of a master without Accept_Mode.

keepalived 2.2.7 (built with nftables) keeps `table ip keepalived` / `table ip6 keepalived`
with a set of VIPs and two chains at priority filter - 1 that drop what is addressed to
(input) or sent from (output) a VIP, letting IPv6 neighbour discovery through; a
link-local VIP is matched together with its interface. vrrptui keeps the same rules in a
table of its own, `table inet vrrptui`, in the namespace it runs in. The whole table is
rewritten in one `nft -f -` transaction per change and deleted when nothing is blocked.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from collections.abc import Callable, Iterable

TABLE = "inet vrrptui"
ND_TYPES = "nd-neighbor-solicit, nd-neighbor-advert"
NFT_TIMEOUT = 10.0  # seconds

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Runner = Callable[[str], None]


def run_nft(script: str) -> None:
    """Apply an nft script atomically; OSError with nft's own message when it refuses."""
    nft = shutil.which("nft")
    if nft is None:
        raise OSError("nft not found (apt-get install nftables)")
    try:
        out = subprocess.run([nft, "-f", "-"], input=script, capture_output=True, text=True, timeout=NFT_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"nft did not answer within {NFT_TIMEOUT:g} s") from exc
    if out.returncode != 0:
        raise OSError(f"nft failed: {out.stderr.strip() or out.returncode}")


def ruleset(blocked: Iterable[tuple[IPAddress, str]]) -> str:
    """The nft script for these (VIP, interface) pairs: our table replaced, or removed when empty."""
    blocked = list(blocked)
    v4 = sorted({str(a) for a, _ in blocked if a.version == 4})
    v6 = sorted({str(a) for a, _ in blocked if a.version == 6 and not a.is_link_local})
    link_local = sorted({f'{a} . "{dev}"' for a, dev in blocked if a.version == 6 and a.is_link_local})
    script = [f"table {TABLE}", f"delete table {TABLE}"]  # creating first makes the delete always succeed
    if not (v4 or v6 or link_local):
        return "\n".join(script) + "\n"
    sets = [("vips4", "ipv4_addr", v4), ("vips6", "ipv6_addr", v6), ("vips6_link_local", "ipv6_addr . iface_index",
                                                                      link_local)]
    script.append(f"table {TABLE} {{")
    for name, kind, elements in sets:
        script.append(f"  set {name} {{ type {kind};" + (f" elements = {{ {', '.join(elements)} }};" if elements
                                                            else "") + " }")
    for chain, hook, addr, iface in (("in", "input", "daddr", "iif"), ("out", "output", "saddr", "oif")):
        script += [
            f"  chain {chain} {{",
            f"    type filter hook {hook} priority filter - 1; policy accept;",
            f"    icmpv6 type {{ {ND_TYPES} }} accept",
            f"    ip {addr} @vips4 drop",
            f"    ip6 {addr} . {iface} @vips6_link_local drop",
            f"    ip6 {addr} @vips6 drop",
            "  }",
        ]
    script.append("}")
    return "\n".join(script) + "\n"


class VipFirewall:
    """Which instances' VIPs are blocked right now; every change rewrites the table."""

    def __init__(self, run: Runner = run_nft) -> None:
        self._run = run
        self._blocked: dict[str, tuple[tuple[IPAddress, str], ...]] = {}

    @property
    def blocked(self) -> dict[str, tuple[tuple[IPAddress, str], ...]]:
        return dict(self._blocked)

    def block(self, name: str, vips: Iterable[tuple[IPAddress, str]]) -> None:
        """Drop traffic to and from these (VIP, interface) pairs of instance `name` (replaces its earlier set)."""
        wanted = tuple(vips)
        if self._blocked.get(name) == wanted:
            return
        self._apply({**self._blocked, name: wanted})

    def unblock(self, name: str) -> bool:
        """Let the instance's VIPs through again; False when nothing was blocked for it."""
        if name not in self._blocked:
            return False
        self._apply({k: v for k, v in self._blocked.items() if k != name})
        return True

    def clear(self) -> None:
        """Remove the table, whatever is in it (a crashed run's leftovers too)."""
        self._run(ruleset(()))
        self._blocked = {}

    def _apply(self, blocked: dict[str, tuple[tuple[IPAddress, str], ...]]) -> None:
        self._run(ruleset(pair for pairs in blocked.values() for pair in pairs))
        self._blocked = blocked
