"""Abuse limits: the numbers, token buckets, and the failed-hello autoban.

Everything here is sans-I/O and takes `now` (seconds, any monotonic-enough
clock): the core asks before it serves a request, the hub before it keeps a
connection. Murmur's defaults are the reference point (`messageburst=5`,
`messagelimit=1`, `autobanAttempts=10` in `autobanTimeframe=120` s for
`autobanTime=300` s, `channelnestinglimit=10`, `channelcountlimit=1000`).
The limits are documented for clients in docs/PROTOCOL.md ("Limits") and for
operators in docs/SERVER.md.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields

from voip.errors import ConfigError

#: Request payloads that share a bucket, and the bucket's name in `Limits`.
BUCKET_OF_REQUEST = {
    "send_chat": "chat",
    "share_file": "chat",  # a file offered is a line in the room's chat
    "create_room": "room_ops",
    "rename_room": "room_ops",
    "delete_room": "room_ops",
    "join_room": "joins",
    "set_display_name": "names",
    "resync_request": "resync",
}

#: What a refused request was, for the RATE_LIMITED sentence.
_WHAT = {
    "chat": "chat messages",
    "room_ops": "room changes",
    "joins": "room joins",
    "names": "name changes",
    "resync": "resync requests",
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Every abuse limit in one place; 0 means "no limit" where it says so.

    `<bucket>_burst` is how many requests may come at once, `<bucket>_per_second`
    how fast the allowance refills.
    """

    # before authentication
    hello_timeout: float = 10.0  # seconds from the connection's start to Welcome
    pre_auth_max_frame: int = 4096  # bytes; a ClientHello is a few hundred
    max_unauthenticated: int = 256  # connections without a Welcome, in total
    max_unauthenticated_per_address: int = 16
    max_users: int = 1000  # authenticated users at once
    # failed hellos per source address: `autoban_attempts` within
    # `autoban_window` seconds refuse that address for `autoban_seconds` (0: off)
    autoban_attempts: int = 10
    autoban_window: float = 120.0
    autoban_seconds: float = 300.0
    # output to one connection
    max_control_backlog: int = 4 << 20  # bytes queued on the control stream, not yet acked
    max_datagram_queue: int = 256  # voice datagrams queued for one listener
    # requests (token buckets per session)
    chat_burst: float = 5
    chat_per_second: float = 1
    room_ops_burst: float = 20
    room_ops_per_second: float = 2
    joins_burst: float = 20
    joins_per_second: float = 5
    names_burst: float = 5
    names_per_second: float = 0.5
    resync_burst: float = 3
    resync_per_second: float = 1
    # voice datagrams per sender (50 a second is one talker)
    voice_burst: float = 30
    voice_per_second: float = 60
    # the room tree
    max_rooms: int = 1000  # 0: no limit
    max_room_depth: int = 10  # rooms below the root, the root being depth 0; 0: no limit
    max_users_per_room: int = 0  # 0: no limit

    def check(self) -> Limits:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"limit {f.name} must be a number >= 0, not {value!r}")
            if not math.isfinite(value):
                raise ConfigError(f"limit {f.name} must be finite")
        for name in ("hello_timeout", "pre_auth_max_frame", "max_control_backlog"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"limit {name} must be above 0")
        for bucket in _WHAT:
            if getattr(self, f"{bucket}_burst") < 1 or getattr(self, f"{bucket}_per_second") <= 0:
                raise ConfigError(
                    f"limit {bucket}_burst must be at least 1 and {bucket}_per_second above 0"
                )
        return self

    @classmethod
    def from_mapping(cls, values: dict[str, object]) -> Limits:
        """From a config table (``[limits]`` in the server's TOML file)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown limit {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**values).check()  # type: ignore[arg-type]
        except TypeError as exc:
            raise ConfigError(f"invalid limits: {exc}") from exc


class TokenBucket:
    """`burst` tokens, refilled at `per_second`; one request takes one."""

    __slots__ = ("burst", "per_second", "stamp", "tokens")

    def __init__(self, burst: float, per_second: float, now: float) -> None:
        self.burst = burst
        self.per_second = per_second
        self.tokens = burst
        self.stamp = now

    def take(self, now: float) -> float:
        """0.0 if a token was taken, else the seconds until one will be there."""
        tokens = self.tokens + (now - self.stamp) * self.per_second
        if tokens > self.burst:
            tokens = self.burst
        self.stamp = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return 0.0
        self.tokens = tokens
        return (1.0 - tokens) / self.per_second


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused by a bucket: the sentence and when to try again."""

    message: str
    retry_after: float  # seconds

    @property
    def retry_after_ms(self) -> int:
        return max(1, math.ceil(self.retry_after * 1000))


class RequestLimiter:
    """The request buckets of one session, created on first use."""

    __slots__ = ("_buckets", "_limits")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, kind: str, now: float) -> Refusal | None:
        """None if a request of payload `kind` may be served now."""
        name = BUCKET_OF_REQUEST.get(kind)
        if name is None:
            return None
        bucket = self._buckets.get(name)
        if bucket is None:
            limits = self._limits
            bucket = self._buckets[name] = TokenBucket(
                getattr(limits, f"{name}_burst"), getattr(limits, f"{name}_per_second"), now
            )
        wait = bucket.take(now)
        if not wait:
            return None
        burst, rate = bucket.burst, bucket.per_second
        return Refusal(
            f"too many {_WHAT[name]}: at most {burst:g} at once and {rate:g} a second; "
            f"wait {wait:.1f} s and try again",
            wait,
        )


class AuthThrottle:
    """Failed hellos per source address, and the temporary bans they lead to."""

    def __init__(self, limits: Limits) -> None:
        self._attempts = limits.autoban_attempts
        self._window = limits.autoban_window
        self._ban = limits.autoban_seconds
        self._failures: dict[str, deque[float]] = {}
        self._banned_until: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        return self._attempts > 0 and self._ban > 0

    def banned(self, address: str, now: float) -> float:
        """Seconds the address stays refused, or 0.0."""
        until = self._banned_until.get(address)
        if until is None:
            return 0.0
        if now >= until:
            del self._banned_until[address]
            return 0.0
        return until - now

    def failed(self, address: str, now: float) -> bool:
        """Count one failed hello; True if this one started a ban."""
        if not self.enabled or not address:
            return False
        times = self._failures.setdefault(address, deque())
        times.append(now)
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(times) < self._attempts:
            return False
        del self._failures[address]
        self._banned_until[address] = now + self._ban
        return True

    def expire(self, now: float) -> None:
        """Forget old failures and bans (call now and then; keeps memory bounded)."""
        for address in [a for a, t in self._failures.items() if t[-1] <= now - self._window]:
            del self._failures[address]
        for address in [a for a, u in self._banned_until.items() if u <= now]:
            del self._banned_until[address]


def log_text(text: str, limit: int = 80) -> str:
    """User-supplied text made safe for a log line: quoted, escaped, cut short.

    Control, format (bidi, zero-width) and other non-printable characters
    become escapes, so a name cannot rewrite the terminal or the line.
    """
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text)


def admission_refusal(
    limits: Limits,
    throttle: AuthThrottle,
    waiting_addresses: list[str],
    address: str,
    now: float,
) -> tuple[str, str] | None:
    """Why a new connection from `address` is refused: (reason for metrics, sentence).

    `waiting_addresses` holds the address of every connection that has not
    authenticated yet. None: admitted.
    """
    banned = throttle.banned(address, now) if address else 0.0
    if banned:
        return (
            "banned",
            f"too many failed logins from your address; try again in {math.ceil(banned)} s",
        )
    if limits.max_unauthenticated and len(waiting_addresses) >= limits.max_unauthenticated:
        return (
            "unauthenticated",
            "the server has too many connections that have not logged in; "
            "try again in a minute",
        )
    per_address = limits.max_unauthenticated_per_address
    if address and per_address and waiting_addresses.count(address) >= per_address:
        return (
            "unauthenticated_per_address",
            "too many connections from your address have not logged in; "
            "finish or close them first",
        )
    return None
