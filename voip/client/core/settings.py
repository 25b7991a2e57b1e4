"""What a client core is configured with: who it is, and how long it waits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0  # start of the attempt to Welcome (the hello deadline)
    # QUIC idle timeout (docs/PROTOCOL.md): with a keep-alive every idle/3, a
    # server that vanished without a goodbye is noticed within about 1.3 x this.
    idle: float = 15.0
    #: A request the server has not answered within this is reported failed.
    request: float = 30.0

    @property
    def keepalive(self) -> float:
        """How long the control stream may stay quiet: well inside idle timeout and NAT."""
        return min(20.0, self.idle / 3)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the hello says: who we are, what we prove, the server password."""

    display_name: str
    public_key: bytes
    sign: Callable[[bytes], bytes]  # detached Ed25519 signature
    password: str = ""
