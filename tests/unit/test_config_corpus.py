"""`vrrptui --check` over the shared keepalived.conf corpus agrees with keepalived 2.2.7 on every file.

The corpus (80 real configurations) lives in ../shared/keepalived-corpus beside the repository and is read
in place, never copied. KEEPALIVED_REFUSES records what keepalived 2.2.7 itself did with each file when run
for real in a namespace (not only `keepalived -t`, whose exit status hides fatal messages):
every other file runs. In CI the corpus must be there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vrrptui.config.model import ConfigError
from vrrptui.config.parser import parse_config

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "keepalived-corpus"
FILES = sorted(CORPUS.glob("[0-9][0-9][0-9]-*.conf"))

KEEPALIVED_REFUSES = {
    # `track_interface eth0` on one line: the next lines become tracked interfaces ("Non-existent interface").
    "004": "'track_interface' needs a block",
    # empty `unicast_src_ip`: keepalived's parser stops ("missing a parameter").
    "046": "'unicast_src_ip' needs an address",
    # `virtual_router_id 0`: "the virtual router id must be set", then the VRRP process exits (this very file
    # makes keepalived 2.2.7's VRRP child crash and respawn). keepalived -t still exits 5 here.
    "080": "virtual_router_id 0 is out of range",
}

# The files keepalived runs with a warning where vrrptui used to refuse them: the warning vrrptui gives.
EXPECTED_WARNINGS = {
    "008": "vrrp_script check_VI_0 has no `script \"COMMAND\"`: keepalived removes it",
    "011": "vrrp_sync_group VG1 has no members: keepalived removes the group",
    "036": "unknown auth_type 'PASS;': keepalived runs this instance without authentication",
    "061": "is never closed: keepalived reads everything after it",
    "062": "advert_int 0.4 is not a whole number of seconds, which VRRPv2 needs: keepalived rounds it to 1 s",
    "067": "track_script 'failover_check' names no vrrp_script",
    "073": "'state' takes one value: keepalived uses 'MASTER' and ignores 'priority 200'",
}


def test_the_corpus_is_there():
    if not FILES and not os.environ.get("CI"):
        pytest.skip(f"no keepalived corpus at {CORPUS}")
    assert len(FILES) == 80, f"expected the 80-file corpus at {CORPUS}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_check_agrees_with_keepalived(path):
    number = path.name[:3]
    # The host's interfaces do not matter here: a missing one is only a warning.
    if number in KEEPALIVED_REFUSES:
        with pytest.raises(ConfigError) as exc:
            parse_config(str(path), check_interfaces=False)
        errors = [d.message for d in exc.value.diagnostics if d.severity == "error"]
        assert any(KEEPALIVED_REFUSES[number] in e for e in errors), errors
        return
    config = parse_config(str(path), check_interfaces=False)
    if number in EXPECTED_WARNINGS:
        assert any(EXPECTED_WARNINGS[number] in d.message for d in config.warnings), config.warnings
