"""The typed, immutable model of a keepalived.conf, with keepalived's defaults applied.

Everything here is a frozen dataclass; tuples instead of lists. The parser
(`vrrptui.config.parser`) is the only producer. `file`/`line` are kept on the
objects an operator may be pointed at later (instances, scripts, VIPs). They are left out
of equality: an object that only moved in the file (a comment added above it) is the same
one, so a reload keeps an unchanged instance running. A `Diagnostic`'s place is what it says,
so there they count.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, field
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


MAX_MESSAGE = 600  # characters of a diagnostic's message as printed (file:line and severity aside)


def default_vmac_name(family: int, vrid: int, taken: int = 0) -> str:
    """keepalived's VMAC interface name for a `use_vmac` without one: vrrp.51, vrrp6.51 for IPv6; the Nth
    instance to want a name already taken gets vrrpN.51."""
    return f"vrrp{taken or ('6' if family == 6 else '')}.{vrid}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One warning or error, printed as `file:line: severity: message`."""

    file: str
    line: int
    severity: Literal["error", "warning"]
    message: str
    host: bool = False  # about this host rather than the file (a missing interface): `--strict` keeps it a warning

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file  # line 0: the file as a whole
        message = shown(self.message)
        if len(message) > MAX_MESSAGE:  # a long word of the file quoted in it: keep the start and what to do
            message = f"{message[:MAX_MESSAGE * 2 // 3]} [...] {message[-MAX_MESSAGE // 3:]}"
        return f"{shown(where)}: {self.severity}: {message}"


def shown(text: str) -> str:
    """`text` for a terminal or a log: what is not printable (control characters, escape sequences, invisible
    format characters, a byte that is not UTF-8) written as `\\xNN` / `\\uNNNN`, so a message is one plain line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


class ConfigError(Exception):
    """A configuration that must not run. `diagnostics` holds every error and warning found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__("\n".join(str(d) for d in errors) or "invalid configuration")


@dataclass(frozen=True, slots=True)
class VirtualAddress:
    """A `virtual_ipaddress` entry: `ADDR[/LEN] [brd B] [dev IF] [scope S] [label L]`."""

    interface: IPInterface  # address with prefix; /32 or /128 when no /LEN was given
    dev: str | None = None  # None: the instance's interface (or its VMAC)
    label: str | None = None
    brd: str | None = None
    scope: str | None = None
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    @property
    def address(self) -> IPAddress:
        return self.interface.ip

    @property
    def family(self) -> int:
        return self.interface.version

    def __str__(self) -> str:
        return str(self.interface)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class StaticRoute:
    """A virtual_routes / static_routes line (`ip route add` syntax, the options vrrptui acts on)."""

    destination: IPNetwork
    gateway: IPAddress | None = None
    dev: str | None = None  # None: the instance's interface (virtual_routes), else the kernel's choice
    source: IPAddress | None = None  # `src`: the preferred source address
    scope: int | None = None
    table: int | None = None
    metric: int | None = None
    protocol: int | None = None
    kind: str = "unicast"  # or blackhole, unreachable, prohibit, throw
    onlink: bool = False
    text: str = ""
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    @property
    def family(self) -> int:
        return self.destination.version


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """A virtual_rules / static_rules line (`ip rule add` syntax, lookup rules)."""

    family: int
    table: int
    source: IPNetwork | None = None
    destination: IPNetwork | None = None
    priority: int | None = None
    iif: str | None = None
    oif: str | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    invert: bool = False
    text: str = ""
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class UnicastPeer:
    address: IPAddress
    dev: str | None = None  # old `IP dev IF` form, accepted and kept
    min_ttl: int | None = None  # keepalived's TTL/hop limit range for this peer's adverts (default: 255 only)
    max_ttl: int | None = None


@dataclass(frozen=True, slots=True)
class Authentication:
    auth_type: Literal["PASS", "AH"]
    auth_pass: str  # the octets on the wire, one character each (latin-1), at most 8 as keepalived sends


@dataclass(frozen=True, slots=True)
class TrackInterface:
    name: str
    weight: int = 0  # 0: interface down -> FAULT; else added to priority while down (negative) / up (positive)
    reverse: bool = False  # keepalived: up counts as down, and the weight's sign is turned round


@dataclass(frozen=True, slots=True)
class TrackScript:
    name: str
    weight: int | None = None  # None: the vrrp_script's own weight
    reverse: bool | None = None  # `reverse` / `noreverse` on the line; None: the vrrp_script's own


@dataclass(frozen=True, slots=True)
class TrackFile:
    """An instance's `track_file { NAME [weight N [reverse]] }` entry, weight resolved (reverse applied)."""

    name: str
    weight: int  # 0: a non-zero value means FAULT; else value * weight is added to the priority


@dataclass(frozen=True, slots=True)
class TrackFileDef:
    """`track_file NAME { file PATH  weight N [reverse]  init_file [VALUE] [overwrite] }` (top level)."""

    name: str
    path: str
    weight: int = 1
    reverse: bool = False
    init_value: int | None = None  # None: no init_file
    overwrite: bool = False
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class TrackProcess:
    """An instance's `track_process` entry, weight resolved."""

    name: str
    weight: int  # 0: quorum not met means FAULT; >0 added while met, <0 added while not met
    reverse: bool = False  # both turned round: subtract while met / FAULT while met


@dataclass(frozen=True, slots=True)
class TrackProcessDef:
    """`vrrp_track_process NAME { ... }` (top level)."""

    name: str
    process: str
    params: tuple[str, ...] = ()
    param_match: str | None = None  # None: exact; "partial": the first params; "initial": last one a prefix
    weight: int = 1
    reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None
    fork_delay: float = 0.0
    terminate_delay: float = 0.0
    full_command: bool = False
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class NotifyScript:
    """A notify line as keepalived reads it: `notify_master SCRIPT [user [group]]`.

    SCRIPT is one word, quoted when it has arguments (`"/bin/n.sh master 'two words'"`), which
    keepalived splits again into the program and its arguments; the words after it name the
    user and group the script runs as (default: script_user, else keepalived_script, else root).
    """

    command: str
    user: str | None = None
    group: str | None = None
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    @property
    def argv(self) -> tuple[str, ...]:
        """The program and its arguments (`'` and `"` quote, as in keepalived)."""
        try:
            return tuple(shlex.split(self.command))
        except ValueError:
            return tuple(self.command.split())

    def __str__(self) -> str:
        run_as = f" (as {self.user}{':' + self.group if self.group else ''})" if self.user else ""
        return self.command + run_as


@dataclass(frozen=True, slots=True)
class VrrpScript:
    name: str
    script: str
    interval: float = 1.0
    timeout: float | None = None  # None: the interval, as keepalived
    rise: int = 1
    fall: int = 1
    weight: int = 0  # 0: failure -> FAULT; >0 added while OK; <0 added while failing
    weight_reverse: bool = False
    user: str | None = None
    group: str | None = None
    init_fail: bool = False
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class VrrpInstance:
    name: str
    interface: str | None
    vrid: int
    family: int = 4  # 4 or 6, from the VIPs (IPv6 VIPs imply v3)
    version: int = 2
    priority: int = 100
    advert_int: float = 1.0  # seconds
    initial_state: Literal["BACKUP", "MASTER"] = "BACKUP"
    nopreempt: bool = False
    preempt_delay: float = 0.0
    unicast_src_ip: IPAddress | None = None
    unicast_src_dev: str | None = None
    unicast_peers: tuple[UnicastPeer, ...] = ()
    mcast_src_ip: IPAddress | None = None
    authentication: Authentication | None = None
    virtual_ipaddresses: tuple[VirtualAddress, ...] = ()
    virtual_ipaddresses_excluded: tuple[VirtualAddress, ...] = ()
    track_interfaces: tuple[TrackInterface, ...] = ()
    track_scripts: tuple[TrackScript, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    track_processes: tuple[TrackProcess, ...] = ()
    notify_master: NotifyScript | None = None
    notify_backup: NotifyScript | None = None
    notify_fault: NotifyScript | None = None
    notify_stop: NotifyScript | None = None
    notify: NotifyScript | None = None
    use_vmac: bool = False
    vmac_name: str | None = None  # default vrrp.<VRID> (IPv6: vrrp6.<VRID>), made unique as keepalived does
    vmac_xmit_base: bool = False
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0  # 0: off
    garp_master_refresh_repeat: int = 1
    garp_interval: float = 0.0
    gna_interval: float = 0.0
    # a master hearing a lower-priority master: GARPs now and again after the delay (0: none), and an advert
    garp_lower_prio_repeat: int = 5
    garp_lower_prio_delay: float = 5.0
    lower_prio_no_advert: bool = False
    # a master hearing a higher priority advertises once before stepping down, so the winner hears a lower-priority
    # master and re-sends its GARPs (after a partition); keepalived's default is off, vrrptui's on
    higher_prio_send_advert: bool = True
    notify_master_rx_lower_pri: NotifyScript | None = None
    # MASTER_PRIORITY / BACKUP_PRIORITY lines on the notify FIFOs; unset: the sync group's, else global_defs'
    notify_priority_changes: bool | None = None
    debug: int = 0
    dont_track_primary: bool = False
    strict_mode: bool = False  # vrrp_strict / strict_mode: RFC-only behaviour, as keepalived
    accept: bool = True  # Accept_Mode: False -> packets to the VIPs are dropped while master (nftables)
    sync_group: str | None = None
    virtual_routes: tuple[StaticRoute, ...] = ()  # installed while MASTER
    virtual_rules: tuple[PolicyRule, ...] = ()
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    @property
    def unicast(self) -> bool:
        return bool(self.unicast_peers)

    @property
    def owner(self) -> bool:
        return self.priority == 255

    @property
    def vmac_address(self) -> str:
        """RFC 5798 7.3: 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID (IPv6)."""
        return f"00:00:5e:00:0{1 if self.family == 4 else 2}:{self.vrid:02x}"

    @property
    def vmac_interface(self) -> str:
        return self.vmac_name or default_vmac_name(self.family, self.vrid)

    @property
    def all_vips(self) -> tuple[VirtualAddress, ...]:
        return self.virtual_ipaddresses + self.virtual_ipaddresses_excluded

    @property
    def advertised_vips(self) -> tuple[VirtualAddress, ...]:
        """The addresses carried in adverts: virtual_ipaddress of the instance's family."""
        return tuple(v for v in self.virtual_ipaddresses if v.family == self.family)


@dataclass(frozen=True, slots=True)
class SyncGroup:
    name: str
    members: tuple[str, ...]
    notify_master: NotifyScript | None = None
    notify_backup: NotifyScript | None = None
    notify_fault: NotifyScript | None = None
    notify_stop: NotifyScript | None = None
    notify: NotifyScript | None = None
    tracking_weight: bool = False  # sync_group_tracking_weight: members keep weighted trackers
    notify_priority_changes: bool | None = None  # for members that do not set their own
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class GlobalDefs:
    router_id: str | None = None
    enable_script_security: bool = False
    script_user: str | None = None
    script_group: str | None = None
    vrrp_check_unicast_src: bool = False
    vrrp_version: int | None = None  # default version for instances that do not set one
    vrrp_garp_master_delay: float | None = None
    vrrp_garp_master_repeat: int | None = None
    vrrp_garp_master_refresh: float | None = None
    vrrp_garp_master_refresh_repeat: int | None = None
    vrrp_garp_interval: float | None = None
    vrrp_gna_interval: float | None = None
    vrrp_garp_lower_prio_repeat: int | None = None
    vrrp_garp_lower_prio_delay: float | None = None
    vrrp_lower_prio_no_advert: bool | None = None
    vrrp_higher_prio_send_advert: bool | None = None
    vrrp_skip_check_adv_addr: bool = False
    vrrp_strict: bool = False
    vrrp_notify_priority_changes: bool = False  # default of the instances' notify_priority_changes
    default_interface: str | None = None  # static addresses without `dev` (keepalived's default: eth0)
    notify_fifo: str | None = None  # FIFO for every notify event (keepalived's line format)
    vrrp_notify_fifo: str | None = None  # FIFO for VRRP notify events
    vrrp_startup_delay: float = 0.0  # seconds between start-up and the instances starting (bonds settling)
    vrrp_iptables: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    instances: tuple[VrrpInstance, ...] = ()
    scripts: tuple[VrrpScript, ...] = ()
    sync_groups: tuple[SyncGroup, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    files: tuple[str, ...] = ()  # every file read, main file first (includes)
    static_addresses: tuple[VirtualAddress, ...] = ()  # static_ipaddress: from start-up to exit, any state
    static_routes: tuple[StaticRoute, ...] = ()
    static_rules: tuple[PolicyRule, ...] = ()
    track_files: tuple[TrackFileDef, ...] = ()  # the track_file definitions some instance uses
    track_processes: tuple[TrackProcessDef, ...] = ()  # the vrrp_track_process definitions some instance uses

    def instance(self, name: str) -> VrrpInstance:
        for inst in self.instances:
            if inst.name == name:
                return inst
        raise KeyError(name)

    def script(self, name: str) -> VrrpScript:
        for s in self.scripts:
            if s.name == name:
                return s
        raise KeyError(name)
