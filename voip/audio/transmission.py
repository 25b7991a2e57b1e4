"""When the microphone is sent: the one `TransmissionMode`.

The capture engine acts on it, the client's settings and `State` hold it and
the config file stores its value; all of them use this enum.
"""

from __future__ import annotations

import enum


class TransmissionMode(enum.Enum):
    PUSH_TO_TALK = "push_to_talk"  # transmit while the PTT key is held
    CONTINUOUS = "continuous"  # always transmit
    MUTED = "muted"  # never transmit
    VOICE_ACTIVATED = "voice_activated"  # transmit while the VAD hears speech
