"""The whole server over real loopback QUIC with a real LevelDB in a temp dir."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from voip_tests_server_client import Client

from voip.errors import StorageError
from voip.proto import voip_pb2
from voip.protocol.state import StateModel, state_hash
from voip.protocol.voice import MAX_OPUS_PAYLOAD, VoiceFrame, encode_voice
from voip.server.app import RunningServer, ServerOptions, start_server

Options = Callable[..., ServerOptions]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def voice(seq: int, opus: bytes = b"\x01\x02\x03", sender: int = 0, room: int = 0) -> bytes:
    return encode_voice(VoiceFrame(sender_id=sender, room_id=room, sequence=seq, opus=opus))


def raw_voice(size: int) -> bytes:
    """A well-formed VoiceDatagram of about `size` bytes, bypassing encode_voice's cap."""
    data = voip_pb2.VoiceDatagram(sequence=1, opus=b"\x00" * (size - 6)).SerializeToString()
    assert abs(len(data) - size) < 4
    return data


def parse_voice(data: bytes) -> voip_pb2.VoiceDatagram:
    m = voip_pb2.VoiceDatagram()
    m.ParseFromString(data)
    return m


# --- authentication -----------------------------------------------------------------


def test_two_and_three_clients_see_each_other(server: RunningServer) -> None:
    async def scenario() -> None:
        a = await Client.join(server.port, name="alice")
        b = await Client.join(server.port, name="bob")
        c = await Client.join(server.port, name="carol")
        assert len({a.user_id, b.user_id, c.user_id}) == 3
        for client in (a, b, c):
            state = await client.wait_state(lambda s: len(s.users) == 3, "three users")
            assert {u.name for u in state.users.values()} == {"alice", "bob", "carol"}
            assert {u.room_id for u in state.users.values()} == {1}
        assert a.fingerprint == server.fingerprint
        await c.close()
        await a.wait_state(lambda s: c.user_id not in s.users, "carol to leave")
        await a.close()
        await b.close()

    run(scenario)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"password": "wrong"}, voip_pb2.WRONG_PASSWORD),
        ({"signature": b"\x07" * 64}, voip_pb2.BAD_SIGNATURE),
        ({"fingerprint": b"\x00" * 32}, voip_pb2.BAD_SIGNATURE),
        ({"public_key": b"too short"}, voip_pb2.MALFORMED_MESSAGE),
        ({"protocol_version": 7}, voip_pb2.PROTOCOL_VERSION),
    ],
)
def test_auth_failures_get_error_then_close(
    tmp_path: Path, overrides: dict[str, object], code: int, make_options: Options
) -> None:
    async def scenario(server: RunningServer) -> None:
        good = await Client.join(server.port, name="good", password="sesame")
        bad = await Client.open(server.port, name="bad")
        password = str(overrides.pop("password", "sesame"))
        await bad.hello(password=password, **overrides)
        error = await bad.wait_envelope("error")
        assert error.error.code == code and error.error.message
        closed = await bad.wait_closed()
        assert closed.error_code == code
        assert bad.envelopes_of("welcome") == []
        # the good client is unaffected and never hears of the bad one
        answer = await good.request(resync_request=voip_pb2.ResyncRequest())
        assert answer.HasField("ack")
        assert len(good.sync().users) == 1
        await good.close()
        await bad.close()

    with start_server(make_options(tmp_path, password="sesame")) as server:
        run(lambda: scenario(server))


def test_malformed_hello_bytes_are_refused(server: RunningServer) -> None:
    async def scenario() -> None:
        bad = await Client.open(server.port)
        await bad.wait_envelope("challenge")
        # field 11 (client_hello) with a body that is not a ClientHello
        bad.send_raw(b"\x04\x5a\x02\xff\xff")
        error = await bad.wait_envelope("error")
        assert error.error.code == voip_pb2.MALFORMED_MESSAGE
        await bad.wait_closed()
        await bad.close()

    run(scenario)


def test_request_before_auth_is_refused(server: RunningServer) -> None:
    async def scenario() -> None:
        c = await Client.open(server.port)
        answer = await c.request(join_room=voip_pb2.JoinRoom(room_id=1))
        assert answer.error.code == voip_pb2.NOT_AUTHENTICATED
        await c.hello()
        await c.wait_envelope("welcome")
        await c.close()

    run(scenario)


def test_same_key_replaces_the_live_session(server: RunningServer) -> None:
    async def scenario() -> None:
        key = SigningKey.generate()
        first = await Client.join(server.port, name="me", key=key)
        watcher = await Client.join(server.port, name="watcher")
        second = await Client.join(server.port, name="me again", key=key)
        assert second.user_id == first.user_id
        bye = await first.wait_envelope("goodbye")
        assert bye.goodbye.code == voip_pb2.ALREADY_CONNECTED
        await first.wait_closed()
        state = await watcher.wait_state(
            lambda s: (
                s.users.get(first.user_id) is not None and s.users[first.user_id].name == "me again"
            ),
            "the new session",
        )
        assert len(state.users) == 2
        for c in (first, watcher, second):
            await c.close()

    run(scenario)


# --- rooms and state ---------------------------------------------------------------------


def test_rooms_create_join_rename_delete_with_users_inside(server: RunningServer) -> None:
    async def scenario() -> None:
        a = await Client.join(server.port, name="alice")
        b = await Client.join(server.port, name="bob")
        ack = await a.request(create_room=voip_pb2.CreateRoom(parent_id=1, name="Games"))
        assert ack.HasField("ack")
        games = next(r.id for r in a.sync().rooms.values() if r.name == "Games")
        await a.request(create_room=voip_pb2.CreateRoom(parent_id=games, name="Chess"))
        chess = next(r.id for r in a.sync().rooms.values() if r.name == "Chess")
        assert (await b.request(join_room=voip_pb2.JoinRoom(room_id=games))).HasField("ack")
        again = await b.request(join_room=voip_pb2.JoinRoom(room_id=games))
        assert again.error.code == voip_pb2.ALREADY_IN_ROOM
        await a.request(rename_room=voip_pb2.RenameRoom(room_id=games, name="Board games"))
        await a.wait_state(
            lambda s: b.user_id in s.users and s.users[b.user_id].room_id == games, "bob in games"
        )
        assert a.sync().rooms[games].name == "Board games"
        assert (await a.request(delete_room=voip_pb2.DeleteRoom(room_id=games))).HasField("ack")
        state = await b.wait_state(lambda s: games not in s.rooms, "the deletion")
        assert state.users[b.user_id].room_id == 1
        assert state.rooms[chess].parent_id == 1
        root = await a.request(delete_room=voip_pb2.DeleteRoom(room_id=1))
        assert root.error.code == voip_pb2.ROOT_ROOM
        unknown = await a.request(join_room=voip_pb2.JoinRoom(room_id=999))
        assert unknown.error.code == voip_pb2.UNKNOWN_ROOM
        bad_name = await a.request(create_room=voip_pb2.CreateRoom(parent_id=1, name=""))
        assert bad_name.error.code == voip_pb2.INVALID_NAME
        await a.close()
        await b.close()

    run(scenario)


def test_state_hash_agreement_after_a_series_of_changes(server: RunningServer) -> None:
    async def scenario() -> None:
        clients = [await Client.join(server.port, name=f"u{i}") for i in range(3)]
        a, b, c = clients
        await a.request(create_room=voip_pb2.CreateRoom(parent_id=1, name="One"))
        await b.request(create_room=voip_pb2.CreateRoom(parent_id=2, name="Two"))
        await c.request(join_room=voip_pb2.JoinRoom(room_id=3))
        await a.request(join_room=voip_pb2.JoinRoom(room_id=2))
        await b.request(rename_room=voip_pb2.RenameRoom(room_id=3, name="Deux"))
        await c.request(set_display_name=voip_pb2.SetDisplayName(name="carol"))
        await a.request(delete_room=voip_pb2.DeleteRoom(room_id=2))
        late = await Client.join(server.port, name="late")
        await a.request(create_room=voip_pb2.CreateRoom(parent_id=3, name="Three"))
        everyone = [*clients, late]
        for client in everyone:
            # every update was applied with its hash checked by apply_update
            state = await client.wait_state(lambda s: len(s.rooms) == 3, "room Three")
            fresh = await client.request(resync_request=voip_pb2.ResyncRequest())
            assert fresh.HasField("ack")
            snapshot = client.envelopes_of("server_state")[-1]
            assert StateModel.from_proto(snapshot.server_state) == state
            assert snapshot.state_hash == state_hash(state)
        for client in everyone:
            await client.close()

    run(scenario)


# --- chat ----------------------------------------------------------------------------------


def test_chat_is_delivered_only_within_the_room(server: RunningServer) -> None:
    async def scenario() -> None:
        a = await Client.join(server.port, name="alice")
        b = await Client.join(server.port, name="bob")
        c = await Client.join(server.port, name="carol")
        await c.request(create_room=voip_pb2.CreateRoom(parent_id=1, name="Away"))
        await c.request(join_room=voip_pb2.JoinRoom(room_id=2))
        assert (await a.request(send_chat=voip_pb2.SendChat(text="hello"))).HasField("ack")
        for client in (a, b):
            msg = (await client.wait_envelope("chat_message")).chat_message
            assert (msg.sender_id, msg.sender_name, msg.room_id, msg.text) == (
                a.user_id,
                "alice",
                1,
                "hello",
            )
            assert msg.server_time_ms > 0
        too_long = await a.request(send_chat=voip_pb2.SendChat(text="x" * 5001))
        assert too_long.error.code == voip_pb2.CHAT_TOO_LONG
        # carol's own message is her proof that everything before it was delivered
        await c.request(send_chat=voip_pb2.SendChat(text="anyone?"))
        await c.wait_envelope("chat_message")
        assert [e.chat_message.text for e in c.envelopes_of("chat_message")] == ["anyone?"]
        for client in (a, b, c):
            await client.close()

    run(scenario)


# --- voice ---------------------------------------------------------------------------------


def test_voice_is_relayed_within_the_room_and_stamped(server: RunningServer) -> None:
    async def scenario() -> None:
        a = await Client.join(server.port, name="talker")
        b = await Client.join(server.port, name="listener")
        c = await Client.join(server.port, name="elsewhere")
        await c.request(create_room=voip_pb2.CreateRoom(parent_id=1, name="Away"))
        await c.request(join_room=voip_pb2.JoinRoom(room_id=2))
        await b.wait_state(
            lambda s: c.user_id in s.users and s.users[c.user_id].room_id == 2, "carol away"
        )
        # a forges sender and room ids; the server overwrites both
        a.send_datagram(voice(1, sender=c.user_id, room=2))
        a.send_datagram(voice(2, opus=b"\x05" * MAX_OPUS_PAYLOAD, sender=999, room=999))
        got = [parse_voice(d) for d in await b.wait_datagrams(2)]
        assert sorted(m.sequence for m in got) == [1, 2]
        for m in got:
            assert (m.sender_id, m.room_id) == (a.user_id, 1)
        # c, in another room, hears nothing; a hears no echo of itself
        c.send_datagram(voice(1))
        await c.request(resync_request=voip_pb2.ResyncRequest())
        await a.request(resync_request=voip_pb2.ResyncRequest())
        assert c.protocol.datagrams == [] and a.protocol.datagrams == []
        # c joins the room: now c hears b
        await c.request(join_room=voip_pb2.JoinRoom(room_id=1))
        b.send_datagram(voice(7))
        heard = parse_voice((await c.wait_datagrams(1))[0])
        assert (heard.sender_id, heard.room_id, heard.sequence) == (b.user_id, 1, 7)
        stats = server.stats()
        assert stats["relayed"] >= 3 and stats["sent"] >= 4
        for client in (a, b, c):
            await client.close()

    run(scenario)


def test_garbage_datagrams_are_dropped_and_counted_while_voice_flows(
    server: RunningServer,
) -> None:
    async def scenario() -> None:
        early = await Client.open(server.port, name="early")
        early.send_datagram(voice(1))  # before authentication: dropped
        # a bigger client packet size, so it can send datagrams too big for the relay
        a = await Client.join(server.port, name="a", max_datagram_size=1500)
        b = await Client.join(server.port, name="b")
        a.send_datagram(b"\xff\xff\xff garbage")
        a.send_datagram(b"")  # decodes, but carries no audio
        a.send_datagram(raw_voice(1300))  # over MAX_VOICE_DATAGRAM: refused by the parser
        a.send_datagram(raw_voice(1098))  # parses, but stamping pushes it over the relay limit
        a.send_datagram(voice(5))
        got = await b.wait_datagrams(1)
        assert parse_voice(got[0]).sequence == 5
        await b.wait_for(
            lambda: server.stats()["dropped"] >= 5, "the drops to be counted", timeout=5
        )
        stats = server.stats()
        assert stats["dropped_malformed"] == 3
        assert stats["dropped_oversized"] == 1
        assert stats["dropped_unauthenticated"] >= 1
        assert (await a.request(resync_request=voip_pb2.ResyncRequest())).HasField("ack")
        for client in (early, a, b):
            await client.close()

    run(scenario)


# --- misbehaving clients ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x03\xff\xff\xff",  # undecodable envelope
        b"\xff\xff\xff\xff\x7f",  # a frame length far over 1 MiB
        b"\x02\x52\x00",  # a server-only payload (welcome) from a client
    ],
)
def test_client_sending_garbage_is_dropped_others_carry_on(
    server: RunningServer, garbage: bytes
) -> None:
    async def scenario() -> None:
        good = await Client.join(server.port, name="good")
        bad = await Client.join(server.port, name="bad")
        bad.send_raw(garbage)
        error = await bad.wait_envelope("error")
        assert error.error.code == voip_pb2.MALFORMED_MESSAGE
        await bad.wait_closed()
        await good.wait_state(lambda s: bad.user_id not in s.users, "bad to be removed")
        assert (await good.request(send_chat=voip_pb2.SendChat(text="still here"))).HasField("ack")
        await good.close()
        await bad.close()

    run(scenario)


# --- persistence --------------------------------------------------------------------------------


def test_restart_keeps_rooms_and_user_ids(tmp_path: Path, make_options: Options) -> None:
    key = SigningKey.generate()

    async def first_run(server: RunningServer) -> int:
        a = await Client.join(server.port, name="alice", key=key)
        await Client.join(server.port, name="someone")  # takes an id, then goes away
        await a.request(create_room=voip_pb2.CreateRoom(parent_id=1, name="Kept"))
        refused = await a.request(rename_room=voip_pb2.RenameRoom(room_id=1, name="Home"))
        assert refused.error.code == voip_pb2.PERMISSION_DENIED  # only admins rename the root
        token = voip_pb2.RedeemAdminToken(token=server.admin_token)
        assert (await a.request(redeem_admin_token=token)).HasField("ack")
        await a.request(rename_room=voip_pb2.RenameRoom(room_id=1, name="Home"))
        await a.close()
        return a.user_id

    async def second_run(server: RunningServer, old_id: int) -> None:
        a = await Client.join(server.port, name="alice renamed", key=key)
        assert a.user_id == old_id
        stranger = await Client.join(server.port, name="new")
        assert stranger.user_id not in (old_id, old_id + 1)
        state = a.sync()
        assert {r.name for r in state.rooms.values()} == {"Home", "Kept"}
        assert state.users[old_id].roles == ("admin",)  # the role belongs to the key
        assert server.admin_token == ""  # redeemed: no new token
        await a.close()
        await stranger.close()

    result: list[int] = []
    with start_server(make_options(tmp_path)) as server:
        run(lambda: _collect(first_run(server), result))
        fingerprint = server.fingerprint
    with start_server(make_options(tmp_path)) as server:
        assert server.fingerprint == fingerprint  # the self-signed cert is reused
        run(lambda: second_run(server, result[0]))


async def _collect(coro: Awaitable[int], into: list[int]) -> None:
    into.append(await coro)


def test_second_server_on_the_same_data_dir_is_refused(
    server: RunningServer, make_options: Options
) -> None:
    with pytest.raises(StorageError, match="another voip-server"):
        start_server(make_options(server.options.data_dir))


def test_shutdown_says_goodbye(tmp_path: Path, make_options: Options) -> None:
    async def scenario() -> None:
        server = start_server(make_options(tmp_path))
        a = await Client.join(server.port, name="a")
        await asyncio.get_running_loop().run_in_executor(None, server.stop)
        bye = await a.wait_envelope("goodbye")
        assert bye.goodbye.code == voip_pb2.SERVER_SHUTDOWN
        closed = await a.wait_closed()
        assert closed.error_code == voip_pb2.SERVER_SHUTDOWN
        await a.close()

    run(scenario)


def test_certificate_hot_swap_binds_new_connections_to_the_new_cert(
    tmp_path: Path, make_options: Options
) -> None:
    from voip.server.certs import load_or_create_self_signed

    other = load_or_create_self_signed(tmp_path / "other", ["localhost"])

    async def scenario(server: RunningServer) -> None:
        old = await Client.join(server.port, name="old")
        await asyncio.get_running_loop().run_in_executor(None, server.set_certificate, other)
        new = await Client.join(server.port, name="new")
        assert new.fingerprint == other.fingerprint != old.fingerprint
        # the old connection keeps working with the old certificate
        assert (await old.request(resync_request=voip_pb2.ResyncRequest())).HasField("ack")
        await old.close()
        await new.close()

    with start_server(make_options(tmp_path)) as server:
        run(lambda: scenario(server))
