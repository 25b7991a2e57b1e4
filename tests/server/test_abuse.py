"""Hostile clients over real QUIC: one client never harms another, limits hold.

Each attacker is a raw aioquic connection (tests/server/hostile.py); the
victims are other raw connections that log in properly and check every
state hash. The server runs in-process on loopback with its real actors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from voip_tests_server_hostile import Hostile

from voip.proto import voip_pb2
from voip.server.app import RunningServer, ServerOptions, start_server
from voip.server.limits import Limits

Options = Callable[..., ServerOptions]


def run_with(
    tmp_path: Path,
    make_options: Options,
    scenario: Callable[[RunningServer], Awaitable[None]],
    **overrides: object,
) -> None:
    with start_server(make_options(tmp_path, **overrides)) as server:
        asyncio.run(scenario(server))


async def busy_peer_sees_everything(attacker: Hostile, b: Hostile, c: Hostile) -> None:
    """B changes things while the attacker is broken; C must see all of it."""
    attacker_id = next(u.id for u in c.state().users.values() if u.name == "mallory")
    for i in range(5):
        answer = await b.request(create_room=voip_pb2.CreateRoom(parent_id=1, name=f"room {i}"))
        assert answer.HasField("ack"), answer
        chat = await b.request(send_chat=voip_pb2.SendChat(text=f"hello {i}"))
        assert chat.HasField("ack"), chat
    await c.wait_for(lambda: len(c.of_kind("chat_message")) >= 5, "five chat messages")
    await c.wait_for(
        lambda: {r.name for r in c.state().rooms.values()} >= {f"room {i}" for i in range(5)},
        "five rooms",
    )
    # The attacker's departure is announced, and both peers agree with the server.
    await c.wait_for(lambda: attacker_id not in c.state().users, "mallory gone")
    assert attacker_id not in b.state().users
    assert c.state() == b.state()


def test_stop_sending_on_the_control_stream_does_not_break_the_fan_out(
    tmp_path: Path, make_options: Options
) -> None:
    async def scenario(server: RunningServer) -> None:
        async with (
            Hostile.connect(server.port) as b,
            Hostile.connect(server.port) as c,
            Hostile.connect(server.port) as mallory,
        ):
            await b.login("bob")
            await c.login("carol")
            await mallory.login("mallory")
            await c.wait_for(lambda: len(c.state().users) == 3, "three users")
            mallory.stop_sending()
            keep_alive = asyncio.create_task(mallory.keep_alive(30))
            await busy_peer_sees_everything(mallory, b, c)
            closed = await mallory.wait_closed()
            assert closed.error_code == voip_pb2.CONTROL_STREAM_CLOSED
            assert "STOP_SENDING" in closed.reason_phrase
            keep_alive.cancel()

    run_with(tmp_path, make_options, scenario)


def test_reset_stream_leaves_no_ghost(tmp_path: Path, make_options: Options) -> None:
    async def scenario(server: RunningServer) -> None:
        async with (
            Hostile.connect(server.port) as b,
            Hostile.connect(server.port) as c,
            Hostile.connect(server.port) as mallory,
        ):
            await b.login("bob")
            await c.login("carol")
            await mallory.login("mallory")
            await c.wait_for(lambda: len(c.state().users) == 3, "three users")
            mallory.reset_stream()
            keep_alive = asyncio.create_task(mallory.keep_alive(30))
            await busy_peer_sees_everything(mallory, b, c)
            closed = await mallory.wait_closed()
            assert closed.error_code == voip_pb2.CONTROL_STREAM_CLOSED
            assert "RESET_STREAM" in closed.reason_phrase
            keep_alive.cancel()

    run_with(tmp_path, make_options, scenario)


def test_hello_deadline_closes_silent_connections(tmp_path: Path, make_options: Options) -> None:
    async def scenario(server: RunningServer) -> None:
        async with Hostile.connect(server.port) as silent, Hostile.connect(server.port) as mute:
            mute.send_raw(b"\x00")  # opens the stream, takes the challenge, never says hello
            await mute.wait_kind("challenge")
            keep = [asyncio.create_task(h.keep_alive(10)) for h in (silent, mute)]
            for h in (silent, mute):
                closed = await h.wait_closed(timeout=8)
                assert closed.error_code == voip_pb2.HELLO_TIMEOUT
            error = await mute.wait_kind("error")
            assert error.error.code == voip_pb2.HELLO_TIMEOUT
            assert closed.reason_phrase == error.error.message
            for task in keep:
                task.cancel()

    run_with(tmp_path, make_options, scenario, limits=Limits(hello_timeout=1.0))


def test_large_frames_are_refused_before_login(tmp_path: Path, make_options: Options) -> None:
    async def scenario(server: RunningServer) -> None:
        async with Hostile.connect(server.port) as h:
            h.send_raw(b"\x00")
            await h.wait_kind("challenge")
            h.send_raw(bytes([0x80, 0x80, 0x40]) + b"x" * 1000)  # announces 1 MiB
            error = await h.wait_kind("error")
            assert error.error.code == voip_pb2.MALFORMED_MESSAGE
            assert "4096" in error.error.message
            await h.wait_closed()

    run_with(tmp_path, make_options, scenario)


def test_unauthenticated_caps_per_address(tmp_path: Path, make_options: Options) -> None:
    async def scenario(server: RunningServer) -> None:
        async with Hostile.connect(server.port) as a, Hostile.connect(server.port) as b:
            a.send_raw(b"\x00")
            b.send_raw(b"\x00")
            await a.wait_kind("challenge")
            await b.wait_kind("challenge")
            async with Hostile.connect(server.port) as third:
                closed = await third.wait_closed()
                assert closed.error_code == voip_pb2.SERVER_FULL
                assert "your address" in closed.reason_phrase
            await a.login("alice")  # one logs in: a place is free again
            async with Hostile.connect(server.port) as fourth:
                await fourth.login("dave")

    run_with(
        tmp_path, make_options, scenario, limits=Limits(max_unauthenticated_per_address=2)
    )


def test_connected_user_cap(tmp_path: Path, make_options: Options) -> None:
    async def scenario(server: RunningServer) -> None:
        async with Hostile.connect(server.port) as a, Hostile.connect(server.port) as b:
            await a.login("alice")
            b.send_raw(b"\x00")
            await b.hello("bob")
            error = await b.wait_kind("error")
            assert error.error.code == voip_pb2.SERVER_FULL
            closed = await b.wait_closed()
            assert closed.reason_phrase == error.error.message

    run_with(tmp_path, make_options, scenario, limits=Limits(max_users=1))


def test_a_reader_that_stops_reading_is_disconnected(tmp_path: Path, make_options: Options) -> None:
    async def scenario(server: RunningServer) -> None:
        async with Hostile.connect(server.port) as talker, Hostile.connect(server.port) as slow:
            await talker.login("talker")
            await slow.login("slow")
            slow.stop_reading()
            keep_alive = asyncio.create_task(slow.keep_alive(60))
            text = "x" * 4000
            for i in range(400):
                answer = await talker.request(send_chat=voip_pb2.SendChat(text=f"{i} {text}"))
                assert answer.HasField("ack"), answer
                if slow.protocol.terminated is not None:
                    break
            closed = await slow.wait_closed()
            assert closed.error_code == voip_pb2.TOO_SLOW
            # The talker was never held up, and sees the slow reader leave.
            await talker.wait_for(lambda: len(talker.state().users) == 1, "slow gone")
            keep_alive.cancel()

    run_with(
        tmp_path,
        make_options,
        scenario,
        limits=Limits(max_control_backlog=256 * 1024, chat_burst=1000, chat_per_second=1000),
    )


def test_rate_limits_answer_rate_limited_with_retry_after(
    tmp_path: Path, make_options: Options
) -> None:
    async def scenario(server: RunningServer) -> None:
        async with Hostile.connect(server.port) as h:
            await h.login("flooder")
            requests = {
                "send_chat": lambda i: {"send_chat": voip_pb2.SendChat(text=f"spam {i}")},
                "create_room": lambda i: {
                    "create_room": voip_pb2.CreateRoom(parent_id=1, name=f"r{i}")
                },
                "set_display_name": lambda i: {
                    "set_display_name": voip_pb2.SetDisplayName(name=f"n{i}")
                },
                "resync_request": lambda i: {"resync_request": voip_pb2.ResyncRequest()},
            }
            for kind, payload in requests.items():
                ids = [h.request_nowait(**payload(i)) for i in range(40)]
                await h.wait_for(lambda ids=ids: all(h.answers(r) for r in ids), f"{kind} answers")
                answers = [h.answers(r) for r in ids]
                assert all(len(a) == 1 for a in answers), f"{kind}: one answer per request"
                acks = [a[0] for a in answers if a[0].HasField("ack")]
                limited = [a[0] for a in answers if a[0].HasField("error")]
                assert 1 <= len(acks) < 40, kind
                assert limited, kind
                for e in limited:
                    assert e.error.code == voip_pb2.RATE_LIMITED
                    assert e.error.retry_after_ms > 0
                    assert "try again" in e.error.message
            snapshots = [e for e in h.of_kind("server_state")]
            assert len(snapshots) < 10  # 40 resyncs did not make 40 snapshots

    run_with(tmp_path, make_options, scenario)


def test_failed_hellos_ban_the_address_for_a_while(tmp_path: Path, make_options: Options) -> None:
    async def scenario(server: RunningServer) -> None:
        for _ in range(3):
            async with Hostile.connect(server.port) as h:
                h.send_raw(b"\x00")
                await h.hello("guesser", password="wrong")
                assert (await h.wait_kind("error")).error.code == voip_pb2.WRONG_PASSWORD
        async with Hostile.connect(server.port) as h:
            closed = await h.wait_closed()
            assert closed.error_code == voip_pb2.ADDRESS_BANNED
            assert "try again in" in closed.reason_phrase
        await asyncio.sleep(4.5)  # the ban expires
        async with Hostile.connect(server.port) as h:
            await h.login("guesser", password="secret")

    run_with(
        tmp_path,
        make_options,
        scenario,
        password="secret",
        limits=Limits(autoban_attempts=3, autoban_window=60, autoban_seconds=4.0),
    )


def test_a_stream_ending_inside_a_frame_is_an_error(tmp_path: Path, make_options: Options) -> None:
    async def scenario(server: RunningServer) -> None:
        async with Hostile.connect(server.port) as peer, Hostile.connect(server.port) as h:
            await peer.login("peer")
            await h.login("cutter")
            h.send_raw(bytes([10, 1, 2, 3]), end_stream=True)  # 10 announced, 3 sent
            closed = await h.wait_closed()
            assert closed.error_code == voip_pb2.MALFORMED_MESSAGE
            assert "inside a frame" in closed.reason_phrase
            await peer.wait_for(lambda: len(peer.state().users) == 1, "cutter gone")

    run_with(tmp_path, make_options, scenario)
