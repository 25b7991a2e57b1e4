"""Browsers' transport: HTTP/3 + WebTransport on the QUIC port, against the real server.

The client is aioquic's own HTTP/3 stack driven like a browser
(tests/server/web_client.py); the browser itself is exercised in tests/web.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.serialization import Encoding
from voip_tests_server_client import Client
from voip_tests_server_web_client import WebClient

from voip.proto import voip_pb2
from voip.protocol.fingerprint import format_fingerprint
from voip.protocol.handshake import web_origin_binding
from voip.protocol.voice import VoiceFrame, encode_voice
from voip.server.app import RunningServer, ServerOptions, start_server
from voip.server.certs.source import CertificateSettings

Options = Callable[..., ServerOptions]


T = TypeVar("T")


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def run_value(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


def voice(seq: int) -> bytes:
    return encode_voice(VoiceFrame(sender_id=0, room_id=0, sequence=seq, opus=b"\x01\x02\x03"))


def parse_voice(data: bytes) -> voip_pb2.VoiceDatagram:
    m = voip_pb2.VoiceDatagram()
    m.ParseFromString(data)
    return m


async def web_join(port: int, name: str, **kwargs: object) -> WebClient:
    client = await WebClient.open(port, name=name, **kwargs)  # type: ignore[arg-type]
    await client.hello()
    welcome = await client.wait_envelope("welcome")
    client.user_id = welcome.welcome.user_id
    await client.wait_envelope("server_state")
    client.sync()
    return client


def test_browser_and_native_users_share_a_room_state_chat_and_voice(
    server: RunningServer,
) -> None:
    async def scenario() -> None:
        native = await Client.join(server.port, name="native")
        web = await web_join(server.port, "browser")
        await native.wait_state(lambda s: web.user_id in s.users, "the browser user")
        assert web.sync().users[native.user_id].room_id == 1
        answer = await web.request(send_chat=voip_pb2.SendChat(text="hi from h3"))
        assert answer.WhichOneof("payload") == "ack"
        chat = await native.wait_envelope("chat_message")
        assert chat.chat_message.sender_id == web.user_id
        # Voice both ways: the same VoiceDatagram bytes, stamped by the server.
        web.send_datagram(voice(5))
        heard = parse_voice((await native.wait_datagrams(1))[0])
        assert (heard.sender_id, heard.room_id, heard.sequence) == (web.user_id, 1, 5)
        native.send_datagram(voice(9))
        got = parse_voice((await web.wait_datagrams(1))[0])
        assert (got.sender_id, got.sequence) == (native.user_id, 9)
        # Leaving (closing the connection) is seen by the native user.
        await web.close()
        await native.wait_state(lambda s: web.user_id not in s.users, "the browser user gone")
        await native.close()

    run(scenario)


def test_h3_gets_the_web_certificate_and_voip_the_servers_own(server: RunningServer) -> None:
    assert server.web is not None and server.web.certificates is not None
    web_cert = server.web.certificates.current

    def served(client: Client) -> bytes:
        cert = client.protocol._quic.tls._peer_certificate
        assert cert is not None
        return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()

    async def scenario() -> None:
        web = await web_join(server.port, "browser")  # its hello signs the served cert
        native = await Client.join(server.port, name="native")
        assert served(web) == web_cert.sha256 in server.web.hashes()
        assert served(native) == server.fingerprint != web_cert.sha256
        await web.close()
        await native.close()

    run(scenario)


def test_a_browser_may_bind_its_hello_to_a_certificate_name_and_only_to_one(
    server: RunningServer,
) -> None:
    # The certificate served to h3 names localhost: signing the origin binding
    # is what a page does that verified a CA-issued certificate it cannot read.
    async def attempt(authority: str, signed_host: str) -> voip_pb2.Envelope:
        client = await WebClient.open(server.port, name="browser", authority=authority)
        await client.hello(fingerprint=web_origin_binding(signed_host))
        final = ("welcome", "error")
        answer = await client.wait_for(
            lambda: next(
                (e for e in client.protocol.envelopes if e.WhichOneof("payload") in final), None
            ),
            "welcome or error",
        )
        await client.close()
        return answer

    async def scenario() -> None:
        ok = await attempt(f"localhost:{server.port}", "localhost")
        assert ok.WhichOneof("payload") == "welcome"
        # Reached under a name the certificate does not carry: refused.
        evil = await attempt(f"voice.evil.example:{server.port}", "voice.evil.example")
        assert evil.error.code == voip_pb2.BAD_SIGNATURE
        # Signed for another name than the one connected to: refused.
        wrong = await attempt(f"localhost:{server.port}", "127.0.0.2")
        assert wrong.error.code == voip_pb2.BAD_SIGNATURE

    run(scenario)


def test_native_clients_cannot_use_the_web_origin_binding(server: RunningServer) -> None:
    async def scenario() -> None:
        client = await Client.open(server.port, name="native")
        await client.hello(fingerprint=web_origin_binding("localhost"))
        error = await client.wait_envelope("error")
        assert error.error.code == voip_pb2.BAD_SIGNATURE
        await client.close()

    run(scenario)


def test_other_paths_extra_streams_and_foreign_datagrams_are_refused(
    server: RunningServer,
) -> None:
    async def scenario() -> None:
        web = await web_join(server.port, "browser")
        other = await web_join(server.port, "other")
        p = web.protocol
        # A plain request on the same connection: 404, the session carries on.
        stream = p.request_session(f"localhost:{server.port}", path="/elsewhere")
        status = await web.wait_for(lambda: p.responses.get(stream), "the 404")
        assert status[b":status"] == b"404"
        # A datagram for another HTTP/3 stream is dropped, not relayed.
        p.h3.send_datagram(stream, voice(1))
        p.transmit()
        web.send_datagram(voice(2))
        got = [parse_voice(d).sequence for d in await other.wait_datagrams(1)]
        await other.request(resync_request=voip_pb2.ResyncRequest())
        assert got == [2] and len(other.protocol.datagrams) == 1
        # A second WebTransport stream is a protocol violation: error, then close.
        extra = p.webtransport_stream()
        p._quic.send_stream_data(extra, b"\x00")
        p.transmit()
        error = await web.wait_envelope("error")
        assert error.error.code == voip_pb2.MALFORMED_MESSAGE
        assert "only the first stream" in error.error.message
        await web.wait_closed()
        await other.wait_state(lambda s: web.user_id not in s.users, "the violator gone")
        await other.close()

    run(scenario)


def test_welcome_says_how_browsers_join_and_voip_admin_makes_the_link(tmp_path: Path) -> None:
    options = ServerOptions(
        data_dir=tmp_path / "server",
        certificates=CertificateSettings(hostnames=("localhost",)),
        web_page=("127.0.0.1", 0),
    )
    with start_server(options) as server:
        assert server.web is not None and server.web.page is not None
        page = server.web.page.url

        async def welcome() -> voip_pb2.Welcome:
            client = await Client.join(server.port, name="native")
            found = (await client.wait_envelope("welcome")).welcome
            await client.close()
            return found

        told = run_value(welcome)
        assert list(told.web_certificate_hashes) == list(server.web.hashes())
        assert told.web_page == page
        done = subprocess.run(
            [
                sys.executable, "-m", "voip.admin",
                "--server", f"127.0.0.1:{server.port}",
                "--config-dir", str(tmp_path / "admin"),
                "--fingerprint", format_fingerprint(server.fingerprint),
                "link", "--room", "lobby",
            ],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        link = done.stdout.strip()
        assert link.startswith(page + "#")
        fields = urllib.parse.parse_qs(link.partition("#")[2])
        assert fields["server"] == [f"127.0.0.1:{server.port}"]
        assert fields["room"] == ["Lobby"]
        pinned = [base64.urlsafe_b64decode(h + "=") for h in fields["cert"]]
        assert pinned == list(server.web.hashes())
