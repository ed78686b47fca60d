"""What the console and `vrrptui sniff` know about the segment, sans-I/O.

Models here are fed observations and `now` (seconds, monotonic) and never read a
clock, open a socket or import textual: the console renders them, tests drive them
with a fake clock. The only I/O lives in `prober` (ARP/NS on raw sockets, netlink
presence) and `host` (psutil), each behind a small interface.
"""

from vrrptui.observe.heard import Heard, RouterKey
from vrrptui.observe.peers import Mismatch, Peer, PeerTable
from vrrptui.observe.timeline import Timeline
from vrrptui.observe.drills import Drill, DrillTracker, append_drill, read_drills
from vrrptui.observe.vips import VipPresence, VipView

__all__ = [
    "Heard", "RouterKey", "Mismatch", "Peer", "PeerTable", "Timeline",
    "Drill", "DrillTracker", "append_drill", "read_drills",
    "VipPresence", "VipView",
]
