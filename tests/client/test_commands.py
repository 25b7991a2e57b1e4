"""Command validation: what the client can refuse before bothering the server."""

from __future__ import annotations

import pytest

from voip.client import commands as c
from voip.client.address import DEFAULT_PORT, parse_address
from voip.client.state import TransmissionMode


@pytest.mark.parametrize(
    "command",
    [
        c.Connect("localhost", "bob"),
        c.JoinRoom(3),
        c.CreateRoom(1, "Games"),
        c.RenameRoom(2, "Music"),
        c.DeleteRoom(2),
        c.SendChat("hi"),
        c.SetInputVolume(2.0),
        c.SetOutputVolume(0),
        c.SetTransmissionMode(TransmissionMode.VOICE_ACTIVATED, -30.0),
        c.SetPushToTalkKey("ctrl"),
        c.SetInputDevice(None),
        c.Disconnect(),
        c.DismissError(1),
    ],
)
def test_well_formed_commands_pass(command: object) -> None:
    assert c.problem(command) is None


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (c.Connect("", "bob"), "address"),
        (c.Connect("localhost", ""), "display name"),
        (c.Connect("localhost", " bob"), "spaces"),
        (c.JoinRoom(0), "room id"),
        (c.CreateRoom(1, ""), "empty"),
        (c.CreateRoom(1, "x" * 65), "longer"),
        (c.RenameRoom(1, "a\nb"), "control"),
        (c.SendChat("   "), "empty"),
        (c.SetInputVolume(2.5), "between"),
        (c.SetOutputVolume(float("nan")), "number"),
        (c.SetTransmissionMode("loud"), "transmission mode"),  # type: ignore[arg-type]
        (c.SetTransmissionMode(TransmissionMode.VOICE_ACTIVATED, 10.0), "threshold"),
        (c.SetPushToTalkKey(""), "key"),
    ],
)
def test_malformed_commands_are_explained(command: object, words: str) -> None:
    problem = c.problem(command)
    assert problem is not None and words in problem


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Example.org", f"example.org:{DEFAULT_PORT}"),
        ("example.org:9000", "example.org:9000"),
        ("127.0.0.1:1234", "127.0.0.1:1234"),
        ("[::1]:1234", "[::1]:1234"),
        ("::1", f"[::1]:{DEFAULT_PORT}"),
    ],
)
def test_addresses_normalize(text: str, key: str) -> None:
    assert parse_address(text).key == key


@pytest.mark.parametrize("text", ["", "host:0", "host:abc", "[::1", ":80"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)
