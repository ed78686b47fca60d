"""vrrptui: a VRRP daemon that reads keepalived.conf, with a live Textual console."""

__version__ = "0.1.0"
