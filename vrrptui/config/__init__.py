"""keepalived.conf: parsing into an immutable model, and `--check`. Never imports textual."""

from vrrptui.config.model import (  # noqa: F401
    Authentication,
    Config,
    ConfigError,
    Diagnostic,
    GlobalDefs,
    SyncGroup,
    TrackInterface,
    TrackScript,
    UnicastPeer,
    VirtualAddress,
    VrrpInstance,
    VrrpScript,
)
