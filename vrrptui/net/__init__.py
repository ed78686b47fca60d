"""Linux network I/O: raw VRRP sockets, VIPs, GARP/NA, VMAC, link watch. Never imports textual.

Everything acts in the network namespace of the calling process (start the daemon with
`ip netns exec NS vrrptui ...` to confine it). Modules:
  sockets     VrrpSocket: raw protocol 112, TTL 255, TOS 0xc0, multicast join (CAP_NET_RAW)
  netlink     Netlink: links, primary address, VIP add/remove (CAP_NET_ADMIN); pyroute2 on first request()
  rtnl        RtnlSocket: a plain rtnetlink socket, link lookups/dumps and address dumps (no pyroute2)
  rtaddr      AddressSocket: RtnlSocket + one-request address add/delete (CAP_NET_ADMIN)
  gratuitous  send_garp / send_unsolicited_na on AF_PACKET (CAP_NET_RAW)
  vmac        create_vmac / delete_vmac: macvlan + keepalived's ARP sysctls (CAP_NET_ADMIN)
  linkwatch   LinkWatcher: RTMGRP_LINK up/down events (no privilege)
  sniffer     VrrpSniffer: AF_PACKET capture of protocol 112 with a kernel BPF filter (CAP_NET_RAW)
"""
