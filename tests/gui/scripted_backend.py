"""A stand-in backend for rendering tests: serves constructed snapshots, records commands.

It has the `voip_gui.ports.Backend` shape. `publish(state)` behaves like the
real publisher (subscribers called from the caller's thread, which is enough
to exercise the inbox hand-over); commands are only recorded, so a test says
exactly which state the window must show next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType

from voip.client.access_state import AccessState
from voip.client.commands import Command
from voip.client.state import (
    AudioDeviceView,
    AudioState,
    ChatLine,
    ConfigView,
    Connected,
    ErrorNotice,
    RoomView,
    State,
    TransmissionMode,
    UserView,
)
from voip.protocol.permissions import Perm


class ScriptedBackend:
    def __init__(self, initial: State | None = None) -> None:
        self._state = initial or State(version=1)
        self._subscribers: list[Callable[[State], None]] = []
        self.sent: list[Command] = []
        self._lock = threading.Lock()

    def state(self) -> State:
        return self._state

    def send(self, command: Command) -> None:
        with self._lock:
            self.sent.append(command)

    def subscribe(self, fn: Callable[[State], None]) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def shutdown(self) -> None:
        self._subscribers.clear()

    def publish(self, state: State) -> State:
        """Publish `state` with the next version number (from another thread, like actors)."""
        state = replace(state, version=self._state.version + 1)
        self._state = state

        def deliver() -> None:
            for fn in list(self._subscribers):
                fn(state)

        thread = threading.Thread(target=deliver)
        thread.start()
        thread.join()
        return state

    def take_sent(self) -> list[Command]:
        with self._lock:
            sent, self.sent = self.sent, []
        return sent


# --- a populated snapshot for screenshots and rendering checks ---------------------------

NOW_MS = 1_767_000_000_000  # a fixed instant so the rendered times are predictable


def connected_state() -> State:
    rooms = (
        RoomView(1, "Lobby", 0, 0),
        RoomView(2, "Engineering", 1, 1),
        RoomView(4, "Standup", 2, 2),
        RoomView(3, "Gaming", 1, 1),
        RoomView(5, "AFK", 1, 1),
    )
    users = (
        UserView(10, "alice", 2, is_me=True),
        UserView(11, "bob", 2, talking=True, roles=("moderator",)),
        UserView(12, "carol", 2, server_mute=True),
        UserView(13, "dave", 3),
        UserView(14, "erin", 1),
    )
    chat = (
        ChatLine(0, "", 2, "You joined Engineering.", NOW_MS - 240_000, local=True),
        ChatLine(11, "bob", 2, "morning! can everyone hear me?", NOW_MS - 200_000),
        ChatLine(10, "alice", 2, "loud and clear", NOW_MS - 190_000),
        ChatLine(12, "carol", 2, "same here. standup in 5?", NOW_MS - 120_000),
        ChatLine(13, "dave", 3, "(another room: not shown)", NOW_MS - 100_000),
    )
    devices_in = (
        AudioDeviceView("pulse", 1, "ALSA", 32, False),
        AudioDeviceView("default", 2, "ALSA", 32, True),
    )
    audio = AudioState(
        input_devices=devices_in,
        output_devices=devices_in,
        input_device="pulse",
        output_volume=0.8,
        transmission_mode=TransmissionMode.PUSH_TO_TALK,
        ptt_key="space",
        input_level_db=-24.0,
        talking_users=frozenset({11}),
    )
    everyone = int(Perm.ENTER | Perm.SPEAK | Perm.TEXT | Perm.MAKE_ROOM)
    access = AccessState(
        # alice made the rooms below the root: she may edit them, not the root
        permissions=MappingProxyType(
            {1: everyone, **{rid: everyone | int(Perm.WRITE) for rid in (2, 3, 4, 5)}}
        ),
        root_room_id=1,
    )
    return State(
        version=1,
        access=access,
        connection=Connected(
            server_name="Lobby",
            user_id=10,
            server_addr="localhost:7731",
            root_room_id=1,
            max_chat_length=500,
            motd="Welcome to the test server.",
        ),
        rooms=rooms,
        users=users,
        my_user_id=10,
        my_room_id=2,
        chat=chat,
        errors=(ErrorNotice(7, "PERMISSION_DENIED", "you may not rename this room", "RenameRoom"),),
        audio=audio,
        config=ConfigView(last_server="localhost:7731", display_name="alice"),
    )
