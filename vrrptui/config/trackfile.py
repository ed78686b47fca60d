"""track_file (vrrp_track_file): a file whose number sets FAULT or moves the priority.

    track_file NAME {               # top level
        file "/run/keepalived/NAME"
        weight N [reverse]          # default 1
        init_file [VALUE] [overwrite]
    }
    vrrp_instance VI_1 { track_file { NAME [weight N [reverse]] } }

keepalived.conf(5): weight 0 means a non-zero value is FAULT; otherwise value * weight is
added to the priority (below -253: FAULT). The instance's weight, when given, replaces the
track_file's own.
"""

from __future__ import annotations

from vrrptui.config import values as v
from vrrptui.config.blocks import Statement
from vrrptui.config.draft import InstanceDraft
from vrrptui.config.model import TrackFile, TrackFileDef
from vrrptui.config.values import Reporter

FILE_WEIGHT = (-2147483647, 2147483647)  # the track_file block's range
INSTANCE_WEIGHT = (-254, 254)  # an instance's track_file entry


def _weight(r: Reporter, st: Statement, tokens: list[str], low: int, high: int) -> tuple[int, bool] | None:
    """`N [reverse]` -> (N, reverse)."""
    if not tokens or len(tokens) > 2 or (len(tokens) == 2 and tokens[1] != "reverse"):
        r.error(st, f"weight takes a number and an optional `reverse`, e.g. `weight -20` ({low}..{high})")
        return None
    try:
        weight = v.whole_number(tokens[0])
    except ValueError:
        weight = high + 1
    if not low <= weight <= high:
        r.warning(st, f"weight '{tokens[0]}' is not in {low}..{high}: keepalived ignores it, and so does vrrptui")
        return None
    return weight, len(tokens) == 2


def read_track_file(r: Reporter, st: Statement) -> TrackFileDef | None:
    if len(st.values) != 1:
        r.error(st, f"{st.name} needs one name, e.g. `track_file chk_file {{`")
        return None
    name = st.values[0].text
    path: str | None = None
    weight, reverse = 1, False
    init_value: int | None = None
    overwrite = False
    for line in v.block_of(r, st, f"track_file {name} {{ file \"/run/keepalived/{name}\" }}", named=True):
        words = line.words()
        if line.name == "file":
            token = v.single(r, line, 'file "/run/keepalived/state"')
            path = token.text if token is not None else None
        elif line.name == "weight":
            parsed = _weight(r, line, words, *FILE_WEIGHT)
            if parsed is not None:
                weight, reverse = parsed
        elif line.name == "init_file":
            overwrite = "overwrite" in words
            numbers = [w for w in words if w != "overwrite"]
            try:
                init_value = v.whole_number(numbers[0]) if numbers else 0
            except ValueError:
                r.error(line, f"init_file value '{numbers[0]}' is not a whole number, e.g. `init_file 0 overwrite`")
        else:
            r.unknown_keyword(line, "track_file")
    if path is None:
        r.warning(st, f"track_file {name} has no `file \"PATH\"`: keepalived ignores it and so does vrrptui")
        return None
    return TrackFileDef(name, path, weight, reverse, init_value, overwrite, st.file, st.line)


def instance_track_file(r: Reporter, d: InstanceDraft, st: Statement) -> None:
    """`track_file { NAME [weight N [reverse]] }`: entries on the draft, resolved by the parser (`resolve`)."""
    for line in v.block_of(r, st, "track_file { chk_file weight -10 }"):
        words = line.words()
        weight: int | None = None
        if words:
            if words[0] != "weight":
                r.error(line, f"unexpected '{words[0]}' after '{line.name}': expected `{line.name} [weight N "
                              f"[reverse]]`")
                continue
            parsed = _weight(r, line, words[1:], *INSTANCE_WEIGHT)
            if parsed is None:
                continue
            weight = -parsed[0] if parsed[1] else parsed[0]
        d.track_file_entries.append((TrackFile(line.name, weight if weight is not None else 0), weight is not None,
                                     line))


def resolve(r: Reporter, entries: list[tuple[TrackFile, bool, Statement]],
            defs: dict[str, TrackFileDef], owner: bool) -> tuple[TrackFile, ...]:
    """The instance's TrackFiles with each weight final; undefined names dropped as keepalived does."""
    resolved = []
    for tracked, own_weight, line in entries:
        definition = defs.get(tracked.name)
        if definition is None:
            r.warning(line, f"track_file '{tracked.name}' is not defined: keepalived ignores this tracker (\"track "
                            f"file {tracked.name} not found\"), and so does vrrptui")
            continue
        weight = tracked.weight if own_weight else (-definition.weight if definition.reverse else definition.weight)
        if owner and weight:
            r.warning(line, f"tracked file '{tracked.name}' has weight {weight} but priority 255 (address owner) "
                            f"cannot change: keepalived ignores this tracker")
            continue
        resolved.append(TrackFile(tracked.name, weight))
    return tuple(resolved)
