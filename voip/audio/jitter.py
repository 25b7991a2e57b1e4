"""Per-user jitter buffer: orders voice packets and says what to play each tick.

Clock-free like aiortc's ``jitterbuffer.py``: callers pass ``now`` (seconds on
any monotonic clock) with each packet, and call ``pop()`` once per 20 ms
playout tick. ``pop()`` does not decode; it returns a ``Playout`` instruction
(play this packet / recover from the next packet's FEC / conceal with PLC /
play nothing) so the buffer stays cheap and testable without libopus.

Sequence numbers are 16 or 32 bits on the wire and wrap; they are unwrapped
to an ever-growing "extended" sequence against the highest one seen, and
stored in a ring indexed by that extended sequence.

Playout states: BUFFERING (waiting until ``target`` frames are held, at the
start of a talk spurt or after the buffer ran dry) and PLAYING (one frame per
pop). Running dry means the talker stopped (or DTX): play nothing and buffer
again, so a new talk spurt starts with fresh delay rather than a burst of PLC.

The target delay starts at 3 frames and follows the measured inter-arrival
jitter (RFC 3550 estimator): it grows at once when jitter rises and shrinks
slowly, and excess depth is trimmed by dropping the oldest frame.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from voip.audio.codec import FRAME_SECONDS

INITIAL_TARGET_FRAMES = 3
MIN_TARGET_FRAMES = 2
MAX_TARGET_FRAMES = 25  # 500 ms: beyond that a conversation is unusable anyway
RING_CAPACITY = 64  # power of two; must exceed MAX_TARGET_FRAMES comfortably
JITTER_FACTOR = 3.0  # target covers about this many RFC 3550 jitter units
SHRINK_PER_PACKET = 1 / 250  # one frame of target shrink per ~5 s of packets
RESET_AFTER_SECONDS = 5.0  # silence after which sequence tracking starts afresh
DUPLICATE_WINDOW = 64  # how far back duplicates are told apart from late packets
REORDER_SLACK = 8  # packets this far before a stream's first one are still accepted
_EMPTY = -(1 << 62)  # ring slot marker; extended sequences may be negative


def seq_delta(a: int, b: int, bits: int = 16) -> int:
    """Signed distance ``a - b`` between two wrapping sequence numbers."""
    half = 1 << (bits - 1)
    return ((a - b + half) & ((1 << bits) - 1)) - half


def seq_newer(a: int, b: int, bits: int = 16) -> bool:
    """Whether ``a`` comes after ``b`` in a wrapping sequence space."""
    return seq_delta(a, b, bits) > 0


class PlayoutKind(enum.Enum):
    PACKET = "packet"  # decode Playout.packet
    FEC = "fec"  # decode_fec(Playout.packet): the next packet, which carries this frame
    PLC = "plc"  # decode_plc(): the frame is lost and no FEC is at hand
    NOTHING = "nothing"  # talker silent or still buffering: play silence, do not decode


@dataclass(frozen=True, slots=True)
class Playout:
    """What to play for one 20 ms tick; ``sequence`` is the wire sequence number."""

    kind: PlayoutKind
    packet: bytes | None = None
    sequence: int | None = None


NOTHING = Playout(PlayoutKind.NOTHING)


@dataclass(frozen=True, slots=True)
class JitterStats:
    """Counters since creation, for the GUI and benchmarks."""

    received: int
    late: int
    duplicate: int
    lost: int
    fec_recovered: int
    plc: int
    played: int
    underruns: int
    overflow_dropped: int
    buffered: int
    target_frames: int
    jitter_seconds: float


class JitterBuffer:
    """Orders one talker's packets and meters them out one frame per tick."""

    def __init__(
        self,
        seq_bits: int = 16,
        initial_target: int = INITIAL_TARGET_FRAMES,
        min_target: int = MIN_TARGET_FRAMES,
        max_target: int = MAX_TARGET_FRAMES,
        frame_seconds: float = FRAME_SECONDS,
    ) -> None:
        if seq_bits not in (16, 32):
            raise ValueError("sequence numbers are 16 or 32 bits")
        if not 1 <= min_target <= initial_target <= max_target < RING_CAPACITY:
            raise ValueError("need 1 <= min_target <= initial_target <= max_target < 64")
        self._bits = seq_bits
        self._mask = (1 << seq_bits) - 1
        self._half = 1 << (seq_bits - 1)
        self._min_target = min_target
        self._max_target = max_target
        self._frame = frame_seconds
        self._ring: list[bytes | None] = [None] * RING_CAPACITY
        self._ring_seq: list[int] = [_EMPTY] * RING_CAPACITY
        self._count = 0
        self._target = float(initial_target)
        self._playing = False
        self._waited = 0  # ticks spent buffering with packets held
        self._next = 0  # extended sequence to play next (PLAYING) / floor (BUFFERING)
        self._highest = 0  # highest extended sequence seen (valid after the first packet)
        self._seen_mask = 0  # bit i set: highest - i was received
        self._last_arrival = -math.inf
        self._last_transit = 0.0
        self._jitter = 0.0
        self.received = 0
        self.late = 0
        self.duplicate = 0
        self.lost = 0
        self.fec_recovered = 0
        self.plc = 0
        self.played = 0
        self.underruns = 0
        self.overflow_dropped = 0

    # -- queries ------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    @property
    def target_frames(self) -> int:
        """Frames held before playout (re)starts; the buffering delay."""
        return math.ceil(self._target - 1e-9)

    @property
    def jitter(self) -> float:
        """RFC 3550 inter-arrival jitter estimate, in seconds."""
        return self._jitter

    @property
    def playing(self) -> bool:
        return self._playing

    def stats(self) -> JitterStats:
        return JitterStats(
            received=self.received,
            late=self.late,
            duplicate=self.duplicate,
            lost=self.lost,
            fec_recovered=self.fec_recovered,
            plc=self.plc,
            played=self.played,
            underruns=self.underruns,
            overflow_dropped=self.overflow_dropped,
            buffered=self._count,
            target_frames=self.target_frames,
            jitter_seconds=self._jitter,
        )

    # -- input --------------------------------------------------------------

    def insert(self, sequence: int, packet: bytes, now: float) -> bool:
        """Add one packet that arrived at ``now``; False if it was dropped.

        Late packets (their turn has passed) and duplicates are dropped and
        counted; a packet too far ahead of playout restarts the buffer there.
        """
        self.received += 1
        sequence &= self._mask
        if self._last_arrival == -math.inf or now - self._last_arrival > RESET_AFTER_SECONDS:
            # First packet, or after a long silence where 16-bit unwrapping
            # could be ambiguous: start sequence tracking from this packet.
            self._restart(sequence, now)
        delta = ((sequence - self._highest + self._half) & self._mask) - self._half
        ext = self._highest + delta
        self._last_arrival = now

        if delta > 0:
            self._seen_mask = ((self._seen_mask << delta) | 1) & ((1 << DUPLICATE_WINDOW) - 1)
            self._highest = ext
        else:
            bit = 1 << -delta
            if -delta < DUPLICATE_WINDOW and self._seen_mask & bit:
                self.duplicate += 1
                return False
            if -delta < DUPLICATE_WINDOW:
                self._seen_mask |= bit
        if ext < self._next:
            self.late += 1
            return False

        self._update_jitter(ext, now)

        if ext - self._next >= RING_CAPACITY:
            # Far ahead of playout (a long burst after a stall): keep the
            # newest RING_CAPACITY window and count what falls out as overflow.
            self._advance_floor(ext - RING_CAPACITY + 1)
        slot = ext & (RING_CAPACITY - 1)
        self._ring[slot] = packet
        self._ring_seq[slot] = ext
        self._count += 1
        return True

    def _restart(self, sequence: int, now: float) -> None:
        self._ring = [None] * RING_CAPACITY
        self._ring_seq = [_EMPTY] * RING_CAPACITY
        self._count = 0
        self._playing = False
        self._waited = 0
        self._highest = sequence  # extended numbering starts at the wire value
        # Leave room below the first packet so packets reordered around the
        # start of a stream are still played rather than counted late.
        self._next = sequence - REORDER_SLACK
        self._seen_mask = 0
        self._last_transit = now - sequence * self._frame

    def _update_jitter(self, ext: int, now: float) -> None:
        transit = now - ext * self._frame
        d = abs(transit - self._last_transit)
        self._last_transit = transit
        if d > 1.0:
            return  # a talk-spurt gap of a sender that froze its clock: not jitter
        self._jitter += (d - self._jitter) / 16.0
        needed = JITTER_FACTOR * self._jitter / self._frame + 1.0
        target = self._target
        target = needed if needed > target else max(needed, target - SHRINK_PER_PACKET)
        self._target = min(max(target, self._min_target), self._max_target)

    def _advance_floor(self, new_floor: int) -> None:
        """Drop every buffered frame below ``new_floor``."""
        for ext in range(self._next, min(new_floor, self._next + RING_CAPACITY)):
            slot = ext & (RING_CAPACITY - 1)
            if self._ring_seq[slot] == ext and self._ring[slot] is not None:
                self._ring[slot] = None
                self._ring_seq[slot] = _EMPTY
                self._count -= 1
                self.overflow_dropped += 1
        self._next = new_floor

    # -- output -------------------------------------------------------------

    def _take(self, ext: int) -> bytes | None:
        slot = ext & (RING_CAPACITY - 1)
        if self._ring_seq[slot] != ext:
            return None
        packet = self._ring[slot]
        self._ring[slot] = None
        self._ring_seq[slot] = _EMPTY
        self._count -= 1
        return packet

    def _peek(self, ext: int) -> bytes | None:
        slot = ext & (RING_CAPACITY - 1)
        return self._ring[slot] if self._ring_seq[slot] == ext else None

    def _lowest_buffered(self) -> int:
        for ext in range(self._next, self._next + RING_CAPACITY):
            if self._ring_seq[ext & (RING_CAPACITY - 1)] == ext:
                return ext
        raise AssertionError("count > 0 but no buffered frame in the ring window")

    def pop(self) -> Playout:
        """What to play for this 20 ms tick; call exactly once per tick."""
        if not self._playing:
            if self._count == 0:
                return NOTHING
            first = self._lowest_buffered()
            self._waited += 1
            # Start once the target depth is buffered, or once the oldest packet
            # has waited that long anyway (a short spurt must not stay stuck).
            if self._highest - first + 1 < self.target_frames and self._waited < self.target_frames:
                return NOTHING
            self._next = first
            self._playing = True
            self._waited = 0
        elif self._count == 0:
            # Ran dry: the talker stopped (or DTX, or a long jitter spike).
            self._playing = False
            self.underruns += 1
            return NOTHING
        elif self._highest - self._next + 1 > 2 * self.target_frames + 2:
            # Far deeper than needed (jitter calmed down): skip one frame to
            # pull the delay back in, preferring a frame that is missing anyway.
            if self._take(self._next) is not None:
                self.overflow_dropped += 1
            self._next += 1

        ext = self._next
        self._next += 1
        packet = self._take(ext)
        wire = ext & self._mask
        if packet is not None:
            self.played += 1
            return Playout(PlayoutKind.PACKET, packet, wire)
        self.lost += 1
        following = self._peek(ext + 1)
        if following is not None:
            self.fec_recovered += 1
            return Playout(PlayoutKind.FEC, following, wire)
        self.plc += 1
        return Playout(PlayoutKind.PLC, None, wire)
