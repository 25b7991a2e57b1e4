"""A libtorrent session that finds peers only through the voip server.

Both the client and the server's seeder use this: no DHT, no local peer
discovery, no UPnP or NAT-PMP port mapping, no peer exchange (ut_pex is
simply never loaded: the session starts without the default plugins and
adds back only metadata exchange and smart-ban, which pins corrupt pieces
on the peer that sent them), and the torrents we make are private as well.
Peers come from `connect_peer` with addresses the server's tracker gave.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import libtorrent as lt

log = logging.getLogger(__name__)

#: Alerts we act on: errors (file and disk), status (finished), storage.
ALERT_MASK = int(lt.alert_category.error | lt.alert_category.status | lt.alert_category.storage)


@dataclass(frozen=True, slots=True)
class SessionSettings:
    #: Interface to listen on for other peers ("0.0.0.0" for all, "127.0.0.1" for loopback).
    listen_host: str = "0.0.0.0"
    #: Port to listen on; 0 picks one.
    listen_port: int = 0
    #: Accept connections from peers (off: only connect out, e.g. to the server's seed).
    incoming: bool = True
    #: Bytes per second up and down; 0: unlimited.
    upload_rate: int = 0
    download_rate: int = 0


def session_pack(settings: SessionSettings) -> dict[str, object]:
    """The settings_pack: every way of finding peers other than ours off."""
    host = settings.listen_host
    listen = f"[{host}]:{settings.listen_port}" if ":" in host else f"{host}:{settings.listen_port}"
    return {
        # outgoing connections use the listen sockets, so there is always one;
        # `incoming` off refuses what arrives on it
        "listen_interfaces": listen,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": settings.incoming,
        "enable_incoming_tcp": settings.incoming,
        # every peer of a loopback test, or behind one NAT, shares an address
        "allow_multiple_connections_per_ip": True,
        "alert_mask": ALERT_MASK,
        "user_agent": "voip",
        "peer_fingerprint": "-VO0100-",
        "upload_rate_limit": settings.upload_rate,
        "download_rate_limit": settings.download_rate,
        "announce_to_all_trackers": False,
        # No RC4 stream obfuscation (MSE) on the connections we open: it hides
        # nothing from anyone who can see our private, tracker-only swarms, and
        # plain BitTorrent is what any peer speaks; incoming may use either.
        "out_enc_policy": int(lt.enc_policy.disabled),
        "in_enc_policy": int(lt.enc_policy.enabled),
        # a corrupt piece bans the peer after it; smart_ban finds which peer
        "close_redundant_connections": True,
    }


def make_session(settings: SessionSettings) -> lt.session:
    # flags 0: no default plugins (so no ut_pex)
    session = lt.session(session_pack(settings), 0)  # type: ignore[call-overload]
    session.add_extension("ut_metadata")
    session.add_extension("smart_ban")
    return session


def listen_port(session: lt.session) -> int:
    return int(session.listen_port())
