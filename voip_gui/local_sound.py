"""How loud each other user is played here, and muting them here: remembered per user.

Local volume (0-200 %) and local mute change only what this client plays
(the mixer's gain for that user, `SetUserVolume`); nobody else is told.
They are remembered per user, keyed by the server's address and the user's
id (the server keeps one id per public key), in ``gui.toml``, and applied
again whenever that user is seen on that server. The controls are in the
user menu (`user_menu.py`).
"""

from __future__ import annotations

from voip.client.commands import SetUserVolume
from voip.client.state import Connected, State
from voip_gui.ports import SendFn
from voip_gui.prefs import PrefsFile, UserSound


def user_key(state: State, user_id: int) -> str | None:
    """``host:port#id``: who a user is across sessions on one server."""
    connection = state.connection
    if not isinstance(connection, Connected) or not connection.server_addr:
        return None
    return f"{connection.server_addr}#{user_id}"


class LocalSounds:
    def __init__(self, send: SendFn, prefs: PrefsFile) -> None:
        self._send = send
        self._prefs = prefs
        self._state: State | None = None
        self._applied: dict[str, UserSound] = {}

    def sound_of(self, user_id: int) -> UserSound:
        key = user_key(self._state, user_id) if self._state is not None else None
        return self._prefs.prefs.sounds.get(key, UserSound()) if key else UserSound()

    def set_sound(self, user_id: int, sound: UserSound) -> None:
        """Apply and remember one user's local volume and mute."""
        state = self._state
        key = user_key(state, user_id) if state is not None else None
        if key is None:
            return
        self._prefs.update(self._prefs.prefs.with_sound(key, sound))
        self._applied[key] = sound
        self._send(SetUserVolume(user_id, volume=sound.volume, muted=sound.muted))

    def render(self, state: State) -> None:
        """Send the remembered volume of every user seen on this server, once each."""
        self._state = state
        if not state.is_connected:
            self._applied.clear()
            return
        for user in state.users:
            if user.is_me:
                continue
            key = user_key(state, user.id)
            if key is None:
                continue
            sound = self._prefs.prefs.sounds.get(key)
            if sound is not None and self._applied.get(key) != sound:
                self._applied[key] = sound
                self._send(SetUserVolume(user.id, volume=sound.volume, muted=sound.muted))
