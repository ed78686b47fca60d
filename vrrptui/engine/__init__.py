"""The sans-I/O VRRP engine: state machines fed with `now`, returning outputs. Never imports textual."""
