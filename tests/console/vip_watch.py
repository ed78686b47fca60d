"""Runs the real VIP prober in a namespace for a few seconds and prints what VipPresence makes of it.

    ip netns exec NS python vip_watch.py IFACE VIP SECONDS [VMAC]

Prints one JSON object: {"local": ..., "split": [MACs], "why": ..., "answers": [[mac, owner], ...]}.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from vrrptui.net.prober import VipProber
from vrrptui.records import Claim, LocalPresence, ProbeSent
from vrrptui.observe.vips import VipPresence


def main() -> int:
    ifname, vip, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    vmac = sys.argv[4] if len(sys.argv) > 4 else None
    presence = VipPresence()
    presence.set_vips([(vip, ifname)])
    presence.set_vmac(vip, vmac)
    lock = threading.Lock()

    def report(events) -> None:
        with lock:
            for ev in events:
                if isinstance(ev, ProbeSent):
                    presence.probe_sent(ev.vip, ev.at)
                elif isinstance(ev, LocalPresence):
                    presence.local(ev.vip, ev.present, ev.at)
                elif isinstance(ev, Claim):
                    presence.claim(ev.vip, ev.mac, ev.at, ev.kind)

    prober = VipProber(report, rate=4.0)
    prober.set_vips([(vip, ifname)])
    prober.start()
    time.sleep(seconds)
    prober.stop()
    with lock:
        presence.own_macs = set(prober.own_macs)
        (row,) = presence.view(time.monotonic())
        print(json.dumps({"local": row.local, "split": list(presence.split_brain(vip)), "why": row.split_brain_why,
                          "answers": [[a.mac, a.owner] for a in row.answers], "errors": prober.errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
