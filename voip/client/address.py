"""Server addresses as users type them, and the one form used as a key.

Pins in known_servers.toml and the config's last server are keyed by the
normalized ``host:port`` so "Example.org" and "example.org:7731" are the same
server.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PORT = 7731


@dataclass(frozen=True, slots=True)
class ServerAddress:
    host: str
    port: int

    @property
    def key(self) -> str:
        """The normalized ``host:port`` (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return self.key


def parse_address(text: str) -> ServerAddress:
    """Parse ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; ValueError says what is wrong."""
    value = text.strip()
    if not value:
        raise ValueError("no server address given; enter one like voip.example.org:7731")
    port_text = ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError(f"{text!r} has an unclosed '['; write IPv6 as [::1]:7731")
        host, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r}: expected ':port' after ']'")
            port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    elif value.count(":") > 1:
        host = value  # a bare IPv6 address
    else:
        host = value
    if not host:
        raise ValueError(f"{text!r} has no host name; enter one like voip.example.org:7731")
    port = DEFAULT_PORT
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{port_text!r} in {text!r} is not a port number (1-65535)")
        port = int(port_text)
    return ServerAddress(host.lower(), port)
