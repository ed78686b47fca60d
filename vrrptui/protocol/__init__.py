"""VRRP on the wire: packets (codec), timers, tcpdump-style formatting. Never imports textual."""
