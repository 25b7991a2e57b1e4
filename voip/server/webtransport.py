"""The WebTransport adapter: browsers on the same UDP port as native clients.

A QUIC connection that negotiated ALPN ``h3`` is an HTTP/3 connection. The
browser opens a WebTransport session with an extended CONNECT to
`SESSION_PATH`, then one bidirectional WebTransport stream, which carries
exactly what the native control stream carries (the same varint-framed
`Envelope`s), and sends voice as HTTP/3 datagrams whose payload is the same
`VoiceDatagram` bytes. From the hub's point of view the connection is then
an endpoint like any other: the same `ServerProtocol` object, with this
module's `WebSession` translating its events. Browser and native users are in
the same rooms, under the same core.

Only what differs is here:

- datagrams carry the session's quarter stream id as a varint prefix
  (RFC 9297); received ones are unwrapped without going through aioquic's
  HTTP/3 layer, sent ones get the prefix added in `queue_datagram`, so the
  relay's hot path is unchanged for native connections;
- the control stream id is whichever WebTransport stream the browser opened
  first, not stream 0;
- the certificate: a browser that cannot verify the server's certificate
  (a self-signed server) pins a short-lived one by hash
  (``serverCertificateHashes``), so `choose_certificate` swaps in the web
  certificate when the TLS handshake negotiates ``h3``;
- what the hello signature may be bound to (`hello_bindings`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aioquic.buffer import Buffer, BufferReadError, encode_uint_var
from aioquic.h3.connection import H3Connection
from aioquic.h3.events import HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import DatagramFrameReceived, QuicEvent, StreamReset
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from voip.errors import ProtocolError
from voip.protocol.fingerprint import certificate_fingerprint
from voip.protocol.framing import FrameDecoder, parse_envelope
from voip.protocol.handshake import web_origin_binding
from voip.server.certs.web_cert import WebIdentity

if TYPE_CHECKING:
    import asyncio


class WebHost(Protocol):
    """What a `WebSession` needs of the connection it lives on (quic.ServerProtocol).

    Named here so this module need not import quic.py, which imports it.
    """

    hub: Any  # the ConnectionListener the connection reports to
    _loop: asyncio.AbstractEventLoop

    def transmit(self) -> None: ...

    def web_session_started(self) -> None: ...

    def web_session_ended(self, reason: str) -> None: ...

logger = logging.getLogger(__name__)

#: The ALPN token of HTTP/3 (RFC 9114), offered beside ``voip/1``.
H3_ALPN = "h3"
#: The path of the WebTransport session (``https://host:port/voip``).
SESSION_PATH = "/voip"
#: How long a refused or leaving browser gets to read the last messages
#: before the connection is closed (seconds).
CLOSE_GRACE = 1.0


def choose_certificate(quic: QuicConnection, identity: Callable[[], WebIdentity | None]) -> None:
    """Serve the web certificate on connections that negotiate ``h3``.

    aioquic picks the certificate when the connection is created, before the
    ClientHello is read; its TLS engine calls the connection's ALPN handler
    once ALPN is negotiated and before the Certificate message is built. So
    the handler is wrapped (an instance attribute shadows the method when
    the TLS context is created) to replace certificate and key for ``h3``.
    The signature algorithm was already negotiated from the server's own key,
    so the web key must be of the same kind (both are ECDSA P-256 when the
    server's certificate is self-signed, the only case with a web certificate).
    """
    original = quic._alpn_handler

    def handler(alpn_protocol: str) -> None:
        web = identity()
        tls = quic.tls
        if (
            alpn_protocol == H3_ALPN
            and web is not None
            and isinstance(tls.certificate_private_key, ec.EllipticCurvePrivateKey)
            and isinstance(tls.certificate_private_key.curve, ec.SECP256R1)
        ):
            tls.certificate = web.certificate
            tls.certificate_chain = []
            tls.certificate_private_key = web.private_key
        original(alpn_protocol)

    quic._alpn_handler = handler  # type: ignore[method-assign]


def hello_bindings(certificate: x509.Certificate, authority: str) -> tuple[bytes, ...]:
    """What a browser's hello signature may be bound to, on this session.

    The fingerprint of the certificate the session was served with, as for
    native clients: a browser that pinned it by hash knows it. A browser that
    verified a CA-issued certificate cannot read it, so it signs the web
    origin binding of the host it connected to instead; that is accepted only
    when the host is one of the certificate's own names, so a relay reached
    under another name (with its own valid certificate) gets a signature the
    real server refuses. See docs/WEB.md, "What the hello signature is bound to".
    """
    fingerprint = certificate_fingerprint(certificate.public_bytes(Encoding.DER))
    host = authority_host(authority)
    if host and host in certificate_names(certificate):
        return (fingerprint, web_origin_binding(host))
    return (fingerprint,)


def authority_host(authority: str) -> str:
    """The host of an HTTP ``:authority`` (``host:port``, ``[v6]:port``), lower-cased."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else ""
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def certificate_names(certificate: x509.Certificate) -> set[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    names = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
    names.update(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    return names


class WebSession:
    """The HTTP/3 side of one `ServerProtocol` whose connection negotiated ``h3``."""

    def __init__(self, protocol: WebHost, quic: QuicConnection) -> None:
        self._protocol = protocol
        self._quic = quic
        self._h3 = H3Connection(quic, enable_webtransport=True)
        self.session_stream: int | None = None  # the CONNECT stream
        self.control_stream: int | None = None
        self.authority = ""
        self._prefix = b""
        self._decoder = FrameDecoder()

    @property
    def established(self) -> bool:
        return self.session_stream is not None

    def queue_datagram_for(self, append: Callable[[bytes], None]) -> Callable[[bytes], None]:
        """The relay's `queue_datagram` for this session: the prefix, then the voice bytes."""
        prefix = self._prefix

        def queue(data: bytes) -> None:
            append(prefix + data)

        return queue

    def linger(self, close: Callable[[], None]) -> bool:
        """End the control stream now and `close` the connection a little later.

        A browser drops what it has not yet read from its streams the moment
        the QUIC connection closes, so the error that explains a refusal
        (wrong password, ...) would be lost. The stream's FIN follows the
        error; the page reads both and closes the session itself, and the
        connection is closed after `CLOSE_GRACE` in any case.
        """
        if self.control_stream is None:
            return False
        self._quic.send_stream_data(self.control_stream, b"", end_stream=True)
        self._protocol.transmit()
        self._protocol._loop.call_later(CLOSE_GRACE, close)
        return True

    def send_control(self, data: bytes) -> None:
        if self.control_stream is None:
            raise ProtocolError("the browser has not opened its control stream")
        self._quic.send_stream_data(self.control_stream, data)

    def event(self, event: QuicEvent) -> None:
        if isinstance(event, DatagramFrameReceived):
            self._datagram(event.data)
            return
        if isinstance(event, StreamReset) and event.stream_id == self.session_stream:
            self._protocol.web_session_ended("the browser reset its WebTransport session")
            return
        for h3_event in self._h3.handle_event(event):
            if isinstance(h3_event, HeadersReceived):
                self._headers(h3_event)
            elif isinstance(h3_event, WebTransportStreamDataReceived):
                self._stream_data(h3_event)

    def _datagram(self, data: bytes) -> None:
        if self.session_stream is None:
            return  # counted by nobody: not a session yet
        prefix = self._prefix
        if not data.startswith(prefix):
            try:
                quarter = Buffer(data=data).pull_uint_var()
            except BufferReadError:
                quarter = -1
            logger.debug("datagram for HTTP/3 stream %d, not our session: dropped", quarter * 4)
            return
        self._protocol.hub.relay.on_datagram(self._protocol, data[len(prefix) :])

    def _headers(self, event: HeadersReceived) -> None:
        headers = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in event.headers}
        stream = event.stream_id
        is_session = (
            headers.get(":method") == "CONNECT"
            and headers.get(":protocol") == "webtransport"
            and headers.get(":path", "").split("?")[0] == SESSION_PATH
        )
        if not is_session or self.session_stream is not None:
            status = "409" if is_session else "404"
            self._h3.send_headers(stream, [(b":status", status.encode())], end_stream=True)
            self._protocol.hub.relay.mark_dirty(self._protocol)
            return
        self.session_stream = stream
        self.authority = headers.get(":authority", "")
        self._prefix = encode_uint_var(stream // 4)
        self._h3.send_headers(
            stream, [(b":status", b"200"), (b"sec-webtransport-http3-draft", b"draft02")]
        )
        self._protocol.web_session_started()

    def _stream_data(self, event: WebTransportStreamDataReceived) -> None:
        p = self._protocol
        if event.session_id != self.session_stream:
            return
        if self.control_stream is None:
            self.control_stream = event.stream_id
            p.hub.stream_opened(p)
        elif event.stream_id != self.control_stream:
            p.hub.violation(
                p,
                f"data on WebTransport stream {event.stream_id}; only the first stream "
                "carries control messages",
            )
            return
        try:
            envelopes = [parse_envelope(body) for body in self._decoder.feed(event.data)]
        except ProtocolError as exc:
            p.hub.violation(p, str(exc))
            return
        for envelope in envelopes:
            p.hub.received(p, envelope)
        if event.stream_ended:
            p.hub.stream_ended(p)
