"""The lab ping pane's one-line form of each `ping -D -O` line (lines as iputils ping prints them; TZ=UTC)."""

from __future__ import annotations

import pytest

from vrrptui.console.panes import ping_line


@pytest.mark.parametrize(("line", "shown"), [
    # a reply: its round-trip time
    ("[1795436827.440129] 64 bytes from 192.168.1.13: icmp_seq=1 ttl=64 time=0.033 ms",
     "12:27:07.440 seq 1 0.033 ms"),
    # -O: the reply did not come before the next request
    ("[1795436828.676383] no answer yet for icmp_seq=2", "12:27:08.676 seq 2 no answer"),
    # the gateway gave up resolving the VIP
    ("[1795436830.724387] From 192.168.1.11 icmp_seq=3 Destination Host Unreachable",
     "12:27:10.724 seq 3 unreachable"),
    # another ICMP answer: what follows the sequence number, as ping said it
    ("[1795436830.724387] From 192.168.1.11 icmp_seq=7 Redirect Host(New nexthop: 192.168.1.12)",
     "12:27:10.724 seq 7 Redirect Host(New nexthop: 192.168.1.12)"),
    # milliseconds round into the next second
    ("[1795436827.9996] 64 bytes from 192.168.1.13: icmp_seq=4 ttl=64 time=0.1 ms", "12:27:08.000 seq 4 0.1 ms"),
])
def test_ping_line_compacts_each_form_with_a_sequence_number(line, shown):
    assert ping_line(line) == shown


@pytest.mark.parametrize("line", [
    "PING 192.168.1.13 (192.168.1.13) 56(84) bytes of data.",
    "[1795436830.9995] ping: sendmsg: Network is unreachable",
    "--- 192.168.1.13 ping statistics ---",
    "",
])
def test_ping_line_leaves_unrecognised_lines_as_they_are(line):
    assert ping_line(line) == line
