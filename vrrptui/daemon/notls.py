"""asyncio imported without ssl: the daemon speaks no TLS.

asyncio imports ssl (and with it OpenSSL's libssl and libcrypto, ~1-4 MB of RSS) only
to support TLS transports, which the daemon never opens. `import_asyncio()` imports
asyncio while ssl is unavailable, then makes ssl importable again: a later `import ssl`
(the Prometheus exporter's, say) still works, only asyncio's TLS support is off in this
process. Called by `vrrptui.cli` before the daemon's modules are imported.
"""

from __future__ import annotations

import sys


def import_asyncio() -> None:
    """Import asyncio without ssl, unless either is already imported (then nothing changes)."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]  # import ssl -> ImportError, which asyncio allows
    try:
        import asyncio  # noqa: F401
    finally:
        del sys.modules["ssl"]
