"""VRRP on the wire: packets (codec), timers, tcpdump-style formatting. Never imports textual."""

VRRP_PROTO = 112  # IP protocol number
VRRP_TTL = 255  # RFC 5798 5.1.1.3 / 5.1.2.3: IPv4 TTL and IPv6 hop limit of every advert
