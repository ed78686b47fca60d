"""vrrp_track_process (track_process): whether a process runs sets FAULT or moves the priority.

    vrrp_track_process NAME {
        process NAME [PARAM ...]        # quoted: one element
        param_match initial|partial
        weight N [reverse]              # default 1
        quorum N                        # default 1
        quorum_max N
        fork_delay S / terminate_delay S / delay S
        full_command
    }
    vrrp_instance VI_1 { track_process { NAME [weight N [reverse]] } }

A positive weight is added while the quorum is met, a negative one while it is not; weight 0 means
FAULT while it is not; `reverse` turns both round (keepalived.conf(5)).
"""

from __future__ import annotations

from vrrptui.config import values as v
from vrrptui.config.blocks import Statement
from vrrptui.config.draft import InstanceDraft
from vrrptui.config.model import TrackProcess, TrackProcessDef
from vrrptui.config.values import Reporter

WEIGHT = (-254, 254)


def _weight(r: Reporter, st: Statement, words: list[str]) -> tuple[int, bool] | None:
    if not words or len(words) > 2 or (len(words) == 2 and words[1] != "reverse"):
        r.error(st, "weight takes a number and an optional `reverse`, e.g. `weight -20` (-254..254)")
        return None
    try:
        weight = v.whole_number(words[0])
    except ValueError:
        weight = WEIGHT[1] + 1
    if not WEIGHT[0] <= weight <= WEIGHT[1]:
        r.warning(st, f"weight '{words[0]}' is not in -254..254: keepalived ignores it, and so does vrrptui")
        return None
    return weight, len(words) == 2


def read_track_process(r: Reporter, st: Statement) -> TrackProcessDef | None:
    if len(st.values) != 1:
        r.error(st, f"{st.name} needs one name, e.g. `vrrp_track_process chk_haproxy {{`")
        return None
    name = st.values[0].text
    fields: dict[str, object] = {}
    for line in v.block_of(r, st, f"vrrp_track_process {name} {{ process haproxy }}", named=True):
        words = line.words()
        if line.name == "process" and words:
            fields["process"], fields["params"] = words[0], tuple(words[1:])
        elif line.name == "param_match" and words in (["initial"], ["partial"]):
            fields["param_match"] = words[0]
        elif line.name == "weight":
            parsed = _weight(r, line, words)
            if parsed is not None:
                fields["weight"], fields["reverse"] = parsed
        elif line.name in ("quorum", "quorum_max"):
            fields[line.name] = v.integer(r, line, 0, 65535, f"{line.name} 1")
        elif line.name in ("fork_delay", "terminate_delay", "delay"):
            value = v.seconds(r, line, 0, 3600, f"{line.name} 0.5")
            for key in ("fork_delay", "terminate_delay") if line.name == "delay" else (line.name,):
                fields[key] = value
        elif line.name == "full_command":
            fields["full_command"] = v.flag(r, line)
        else:
            r.unknown_keyword(line, "vrrp_track_process")
    if "process" not in fields:
        r.warning(st, f"vrrp_track_process {name} has no `process NAME`: keepalived ignores it and so does vrrptui")
        return None
    return TrackProcessDef(name=name, file=st.file, line=st.line,
                           **{k: val for k, val in fields.items() if val is not None})  # type: ignore[arg-type]


def instance_track_process(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    """`track_process { NAME [weight N [reverse]] }`: entries on the draft, resolved by `resolve`."""
    for line in v.block_of(r, st, "track_process { chk_haproxy weight -20 }"):
        words = line.words()
        given: tuple[int, bool] | None = None
        if words:
            given = _weight(r, line, words[1:]) if words[0] == "weight" else None
            if given is None:
                if words[0] != "weight":
                    r.error(line, f"unexpected '{words[0]}' after '{line.name}': expected `{line.name} [weight N "
                                  f"[reverse]]`")
                continue
        d.track_process_entries.append((line.name, given, line))


def resolve(r: Reporter, entries: list[tuple[str, tuple[int, bool] | None, Statement]],
            defs: dict[str, TrackProcessDef], owner: bool) -> tuple[TrackProcess, ...]:
    resolved = []
    for name, given, line in entries:
        definition = defs.get(name)
        if definition is None:
            r.warning(line, f"track_process '{name}' is not defined: keepalived ignores this tracker, and so does "
                            f"vrrptui")
            continue
        weight, reverse = given if given is not None else (definition.weight, definition.reverse)
        if owner and weight:
            r.warning(line, f"tracked process '{name}' has weight {weight} but priority 255 (address owner) cannot "
                            f"change: keepalived ignores this tracker")
            continue
        resolved.append(TrackProcess(name, weight, reverse))
    return tuple(resolved)
