"""What the console and `vrrptui sniff` know about the segment, sans-I/O.

Models here are fed observations and `now` (seconds, monotonic) and never read a
clock, open a socket or import textual: the console renders them, tests drive them
with a fake clock. Their I/O lives below or beside them: the VIP prober in vrrptui.net.prober, host
statistics in vrrptui.daemon.hoststats, the drills file in vrrptui.daemon.drillfile.
"""

from vrrptui.records import Heard, RouterKey
from vrrptui.observe.peers import Mismatch, Peer, PeerTable
from vrrptui.observe.timeline import Timeline
from vrrptui.observe.drills import DrillStore, DrillTracker
from vrrptui.records import Drill
from vrrptui.observe.vips import VipPresence, VipView

__all__ = [
    "Heard", "RouterKey", "Mismatch", "Peer", "PeerTable", "Timeline",
    "Drill", "DrillStore", "DrillTracker",
    "VipPresence", "VipView",
]
