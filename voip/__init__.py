"""voip: a Mumble-class voice chat over QUIC.

The package is layered (see docs/ARCHITECTURE.md); imports only point down:
``voip.client`` and ``voip.server`` use ``voip.audio`` and ``voip.protocol``,
which use ``voip.proto``.
"""

__version__ = "0.1.0"
