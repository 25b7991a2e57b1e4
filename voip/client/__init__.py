"""The client backend: a state snapshot to draw, commands to send, actors behind.

Front ends (the GUI, bots, tests) use `BackendHandle`; see docs/CLIENT_API.md.
"""

from voip.client.backend import BackendHandle
from voip.client.state import State, TransmissionMode

__all__ = ["BackendHandle", "State", "TransmissionMode"]
