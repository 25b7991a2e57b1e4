"""The client's protocol core, sans-I/O: `ClientCore`, its phases, its events.

The server has `ServerCore`; this is its twin. Nothing here opens a socket,
starts a thread or reads a clock: `voip.client.transport` is the aioquic
glue that feeds it, and tests drive it against `ServerCore` in memory.
"""

from voip.client.core.connection import EMPTY_FRAME, ClientCore
from voip.client.core.phases import Phase
from voip.client.core.settings import Credentials, Timeouts

__all__ = ["EMPTY_FRAME", "ClientCore", "Credentials", "Phase", "Timeouts"]
