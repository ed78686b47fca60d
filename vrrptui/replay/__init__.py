"""`vrrptui replay FILE`: a tcpdump capture (pcap or pcapng) through the console's models.

capture.py reads the file with scapy into the records the live console gets (adverts as
Heard, ARP / NA answers as Claim); vrrptui.observe.failovers finds each failover in them
(sans-I/O); cli.py prints them (--summary, --json) or plays them in the console
(vrrptui.console.replay_app, vrrptui.console.replay_player).
"""
