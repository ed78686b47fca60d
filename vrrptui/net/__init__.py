"""Linux network I/O: raw VRRP sockets, VIPs, GARP/NA, VMAC, link watch. Never imports textual."""
