"""Per-user jitter buffer: orders voice packets and says what to play each tick.

Clock-free like aiortc's ``jitterbuffer.py``: callers pass ``now`` (seconds on
any monotonic clock) with each packet, and call ``pop()`` once per 20 ms
playout tick. ``pop()`` does not decode; it returns a ``Playout`` instruction
(play this packet / play the redundant copy of this frame carried by the next
packet / recover from the next packet's in-band FEC / conceal with PLC / play
nothing) so the buffer stays cheap and testable without libopus.

Sequence numbers wrap (32 bits on the wire, `SEQUENCE_BITS`; 16 for tests of
wraparound); they are unwrapped
to an ever-growing "extended" sequence against the highest one seen, and
stored in a ring indexed by that extended sequence.

Playout states: BUFFERING (waiting until ``target`` frames are held, at the
start of a talk spurt or after the buffer ran dry) and PLAYING (one frame per
pop). A missing frame while PLAYING is never played as silence:

- a hole (later packets are there): the redundant copy the next packet
  carries (RED, full quality), else the next packet's in-band FEC, else PLC;
- an underrun (nothing buffered: the frame is late, lost at the tail of what
  arrived, or the talker stopped): PLC *without* advancing, for at most
  ``UNDERRUN_CONCEAL_FRAMES`` ticks, so a late frame still plays one tick
  later (the delay grows by a frame: how the buffer deepens under jitter);
  when packets come back, those PLC ticks count as the frames that never
  came (except one a RED copy or FEC can restore). After that many ticks,
  BUFFERING again. That is how a talk spurt ends when its end is not known
  (its last frames fade out through Opus PLC, and the target grows as for a
  late frame).

End of a talk spurt: ``end(sequence)`` says the sender's spurt ended with
frame ``sequence`` (the ``end_of_transmission`` marker, sent when the sender
stops transmitting or its encoder goes DTX in a pause). Once every frame up
to it has been played or concealed, the buffer goes back to BUFFERING at
once: no PLC ticks, no target growth, no loss counted. A packet after that
frame starts the next spurt as usual; a spurt shorter than the target starts
playing as soon as its end is known.

Depth: the target follows the RFC 3550 inter-arrival jitter (grows at once,
shrinks by a frame per second or so) with a floor of 1 frame on a clean link
and 2 frames (so the next packet, with its RED copy and FEC, is there when a
frame is missing) while losses were seen in the last ~10 s. Excess depth is
removed by skipping one frame at a time, at most one per half second, only
when the buffer held more than the target for that whole half second (the
minimum depth over the window, so jitter does not trigger it), preferring a
frame that is missing anyway or a quiet one: a packet well below the mean
size (VBR spends few bits on silence), or one no larger than the mean after
a frame the caller found quiet (``pop(quiet=True)``: the last decoded frame
was near silence). A loud frame is skipped only when the excess has lasted
``TRIM_FORCE_TICKS``. A skip in a pause is inaudible (PESQ does not move);
one in the middle of a syllable is a click and shifts the rest of the
utterance (PESQ drops by ~0.4 for one).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from voip.audio.codec import FRAME_SECONDS
from voip.protocol.voice import SEQUENCE_BITS

INITIAL_TARGET_FRAMES = 3
MIN_TARGET_FRAMES = 1  # on a clean link: play a packet at the first tick after it arrives
LOSSY_MIN_TARGET_FRAMES = 2  # while losses are seen: keep the next packet (RED/FEC) at hand
MAX_TARGET_FRAMES = 25  # 500 ms: beyond that a conversation is unusable anyway
RING_CAPACITY = 64  # power of two; must exceed MAX_TARGET_FRAMES comfortably
JITTER_FACTOR = 3.0  # target covers about this many RFC 3550 jitter units
TARGET_ROUNDING = 0.25  # target_frames = ceil(target - this): 1.2 frames of need -> 1
SHRINK_PER_PACKET = 1 / 50  # one frame of target shrink per ~1 s of packets
LOSS_MEMORY_TICKS = 500  # a loss keeps the lossy floor for ~10 s of playout
UNDERRUN_CONCEAL_FRAMES = 4  # PLC ticks on an underrun before rebuffering (Opus PLC fades)
TRIM_WINDOW_TICKS = 25  # depth must exceed the target for this long before a skip
TRIM_FORCE_TICKS = 1500  # after this long (30 s) in excess, skip even a loud frame
QUIET_FRACTION = 0.7  # a packet below this fraction of the mean size is "quiet" (VBR)
RESET_AFTER_SECONDS = 5.0  # silence after which sequence tracking starts afresh
DUPLICATE_WINDOW = 64  # how far back duplicates are told apart from late packets
REORDER_SLACK = 8  # packets this far before a stream's first one are still accepted
_EMPTY = -(1 << 62)  # ring slot marker; extended sequences may be negative
_NO_LOSS = -(1 << 62)  # "last loss" tick before any loss


def seq_delta(a: int, b: int, bits: int = SEQUENCE_BITS) -> int:
    """Signed distance ``a - b`` between two wrapping sequence numbers."""
    half = 1 << (bits - 1)
    return ((a - b + half) & ((1 << bits) - 1)) - half


def seq_newer(a: int, b: int, bits: int = SEQUENCE_BITS) -> bool:
    """Whether ``a`` comes after ``b`` in a wrapping sequence space."""
    return seq_delta(a, b, bits) > 0


class PlayoutKind(enum.Enum):
    PACKET = "packet"  # decode Playout.packet
    REDUNDANT = "redundant"  # decode Playout.packet: this frame's full copy from the next packet
    FEC = "fec"  # decode_fec(Playout.packet): the next packet, which carries this frame
    PLC = "plc"  # decode_plc(): the frame is lost (or late) and no copy is at hand
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
    redundant_recovered: int = 0
    stretched: int = 0  # PLC ticks inserted on an underrun (delay grew a frame)
    skipped: int = 0  # frames skipped to pull the delay back to the target
    ended: int = 0  # talk spurts ended by an end marker (no PLC fade)


class JitterBuffer:
    """Orders one talker's packets and meters them out one frame per tick."""

    def __init__(
        self,
        seq_bits: int = SEQUENCE_BITS,
        initial_target: int = INITIAL_TARGET_FRAMES,
        min_target: int = MIN_TARGET_FRAMES,
        max_target: int = MAX_TARGET_FRAMES,
        frame_seconds: float = FRAME_SECONDS,
        lossy_min_target: int = LOSSY_MIN_TARGET_FRAMES,
    ) -> None:
        if seq_bits not in (16, 32):
            raise ValueError("sequence numbers are 16 or 32 bits")
        if not 1 <= min_target <= initial_target <= max_target < RING_CAPACITY:
            raise ValueError("need 1 <= min_target <= initial_target <= max_target < 64")
        self._bits = seq_bits
        self._mask = (1 << seq_bits) - 1
        self._half = 1 << (seq_bits - 1)
        self._min_target = min_target
        self._lossy_min = min(max(lossy_min_target, min_target), max_target)
        self._max_target = max_target
        self._frame = frame_seconds
        self._ring: list[bytes | None] = [None] * RING_CAPACITY
        self._ring_seq: list[int] = [_EMPTY] * RING_CAPACITY
        # The redundant copy of frame ext - 1 that packet ext carried (same slot as ext).
        self._ring_red: list[bytes] = [b""] * RING_CAPACITY
        # Copies of older frames (ext -> packet) that later datagrams carried,
        # for frames whose own packet has not come; used like ``_ring_red``.
        self._copies: dict[int, bytes] = {}
        self._copy_depth = 1  # 1 + older copies per datagram in the latest packet
        self._count = 0
        self._target = float(initial_target)
        self._target_frames = initial_target
        self._playing = False
        self._waited = 0  # ticks spent buffering with packets held
        self._next = 0  # extended sequence to play next (PLAYING) / floor (BUFFERING)
        self._highest = 0  # highest extended sequence seen (valid after the first packet)
        self._seen_mask = 0  # bit i set: highest - i was received
        self._last_arrival = -math.inf
        self._last_transit = 0.0
        self._jitter = 0.0
        self._ticks = 0  # pops so far
        self._last_loss = _NO_LOSS  # tick of the last lost / late / underrun frame
        self._underrun_run = 0  # consecutive PLC ticks on an empty buffer
        self._window = 0  # ticks in the current trim window
        self._window_min = RING_CAPACITY  # least depth seen in it
        self._skip_pending = False  # a large excess skips every other tick
        self._excess_ticks = 0  # ticks the depth has exceeded the target (trim windows)
        self._mean_size = 0.0  # running mean packet size, bytes
        self._end: int | None = None  # extended sequence of the spurt's last frame, once told
        self.received = 0
        self.late = 0
        self.duplicate = 0
        self.lost = 0
        self.fec_recovered = 0
        self.redundant_recovered = 0
        self.plc = 0
        self.played = 0
        self.underruns = 0
        self.overflow_dropped = 0
        self.stretched = 0
        self.skipped = 0
        self.ended = 0

    # -- queries ------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    @property
    def target_frames(self) -> int:
        """Frames held before playout (re)starts; the buffering delay."""
        return self._target_frames

    @property
    def jitter(self) -> float:
        """RFC 3550 inter-arrival jitter estimate, in seconds."""
        return self._jitter

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def starved(self) -> bool:
        """Whether the next pop would conceal: playing, nothing buffered, spurt not over.

        The playback engine may wait a moment for the packet (its arrival
        grace) before popping; the buffer itself never reads a clock.
        """
        if not self._playing or self._count:
            return False
        end = self._end
        return end is None or self._next + self._underrun_run <= end

    @property
    def ended_spurt(self) -> bool:
        """Whether the last spurt was ended by a marker and nothing new is buffered."""
        return self._end is not None and not self._playing and self._count == 0

    @property
    def lossy(self) -> bool:
        """Whether a frame was lost, late or missing within the last ~10 s."""
        return self._ticks - self._last_loss < LOSS_MEMORY_TICKS

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
            redundant_recovered=self.redundant_recovered,
            stretched=self.stretched,
            skipped=self.skipped,
            ended=self.ended,
        )

    # -- input --------------------------------------------------------------

    def insert(
        self, sequence: int, packet: bytes, now: float, redundant: bytes = b"",
        older: tuple[bytes, ...] = (),
    ) -> bool:
        """Add one packet that arrived at ``now``; False if it was dropped.

        ``redundant`` is the full copy of the previous frame (``sequence - 1``)
        the packet carried, if any: played in that frame's place if it is
        missing when its turn comes. ``older``: copies of frames
        ``sequence - 2``, ``- 3`` (sent while listeners report loss), used the
        same way; while they come, the lossy floor is deep enough (one frame
        per copy) for them to arrive before their frame's turn.

        Late packets (their turn has passed) and duplicates are dropped and
        counted; a packet too far ahead of playout restarts the buffer there.
        """
        self.received += 1
        sequence &= self._mask
        if now - self._last_arrival > RESET_AFTER_SECONDS:
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
        end = self._end
        if end is not None and ext > end:
            self._end = None  # the next talk spurt
        if ext < self._next:
            self.late += 1
            # Its slot was already concealed (RED, FEC or PLC). No target bump:
            # a reordered neighbour costs nothing with RED, and real lateness
            # deepens the buffer through underrun PLC ticks.
            self._on_loss(grow=False)
            return False

        self._update_jitter(ext, now)

        if ext - self._next >= RING_CAPACITY:
            # Far ahead of playout (a long burst after a stall): keep the
            # newest RING_CAPACITY window and count what falls out as overflow.
            self._advance_floor(ext - RING_CAPACITY + 1)
        slot = ext & (RING_CAPACITY - 1)
        self._ring[slot] = packet
        self._ring_seq[slot] = ext
        self._ring_red[slot] = redundant
        self._count += 1
        self._copy_depth = min(1 + len(older), self._max_target)
        for back, copy in enumerate(older, start=2):
            old = ext - back
            if copy and old >= self._next and self._ring_seq[old & (RING_CAPACITY - 1)] != old:
                self._copies[old] = copy
        if len(self._copies) > 2 * DUPLICATE_WINDOW:
            self._copies = {e: c for e, c in self._copies.items() if e >= self._next}
        if self._mean_size:
            self._mean_size += (len(packet) - self._mean_size) / 64.0
        else:
            self._mean_size = float(len(packet))
        return True

    def end(self, sequence: int, now: float) -> None:
        """The sender's talk spurt ended with frame ``sequence`` (an end marker).

        Ignored before any packet, after a long silence (nothing to end) and
        when a later frame was already received (a stale or reordered marker).
        """
        if now - self._last_arrival > RESET_AFTER_SECONDS:
            return
        sequence &= self._mask
        delta = ((sequence - self._highest + self._half) & self._mask) - self._half
        if delta < 0:
            return  # a newer spurt is already arriving
        self._end = self._highest + delta

    def _restart(self, sequence: int, now: float) -> None:
        self._ring = [None] * RING_CAPACITY
        self._ring_seq = [_EMPTY] * RING_CAPACITY
        self._ring_red = [b""] * RING_CAPACITY
        self._copies = {}
        self._count = 0
        self._playing = False
        self._waited = 0
        self._underrun_run = 0
        self._highest = sequence  # extended numbering starts at the wire value
        # Leave room below the first packet so packets reordered around the
        # start of a stream are still played rather than counted late.
        self._next = sequence - REORDER_SLACK
        self._end = None
        self._seen_mask = 0
        self._last_transit = now - sequence * self._frame

    def _floor(self) -> int:
        if self._ticks - self._last_loss < LOSS_MEMORY_TICKS:
            return max(self._lossy_min, self._copy_depth)
        return self._min_target

    def _set_target(self, target: float) -> None:
        target = min(max(target, self._floor()), self._max_target)
        self._target = target
        frames = math.ceil(target - TARGET_ROUNDING)
        self._target_frames = frames if frames > self._min_target else self._min_target

    def _update_jitter(self, ext: int, now: float) -> None:
        transit = now - ext * self._frame
        d = abs(transit - self._last_transit)
        self._last_transit = transit
        if d > 1.0:
            return  # a talk-spurt gap of a sender that froze its clock: not jitter
        self._jitter += (d - self._jitter) / 16.0
        needed = JITTER_FACTOR * self._jitter / self._frame + 1.0
        target = self._target
        self._set_target(needed if needed > target else max(needed, target - SHRINK_PER_PACKET))

    def _on_loss(self, grow: bool, lost: bool = True) -> None:
        """A frame was missing. ``lost``: really lost (keep the lossy floor), not
        just late; ``grow``: the depth was too small."""
        if lost:
            self._last_loss = self._ticks
        target = self._target
        if grow:
            target = float(self._target_frames + 1)
        self._set_target(target)

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

    def _lowest_buffered(self) -> int:
        for ext in range(self._next, self._next + RING_CAPACITY):
            if self._ring_seq[ext & (RING_CAPACITY - 1)] == ext:
                return ext
        raise AssertionError("count > 0 but no buffered frame in the ring window")

    def _skip_one(self) -> None:
        """Skip the next frame (one, never two in a row) to pull the delay in."""
        if self._take(self._next) is not None:
            self.overflow_dropped += 1
        self.skipped += 1
        self._next += 1

    def pop(self, quiet: bool = False) -> Playout:
        """What to play for this 20 ms tick; call exactly once per tick.

        ``quiet``: the previous frame played for this talker was near silence,
        so skipping the next one (to pull the delay in) would not be heard.
        """
        self._ticks += 1
        if not self._playing:
            if self._count == 0:
                return NOTHING
            first = self._lowest_buffered()
            self._waited += 1
            # Start once the target depth is buffered, or once the oldest packet
            # has waited that long anyway (a short spurt must not stay stuck).
            target = self._target_frames
            if (
                self._highest - first + 1 < target
                and self._waited < target
                and (self._end is None or self._end > self._highest)
            ):
                return NOTHING
            self._next = first
            self._playing = True
            self._waited = 0
            self._underrun_run = 0
            self._window = 0
            self._window_min = RING_CAPACITY
        elif self._count == 0:
            end = self._end
            if end is not None and self._next + self._underrun_run > end:
                # The spurt is over and all of it was played (or concealed, if
                # its last frames never came): stop without a fade.
                self.lost += max(0, min(self._underrun_run, end - self._next + 1))
                self._next = end + 1
                self._playing = False
                self._underrun_run = 0
                self.ended += 1
                return NOTHING
            # Underrun: the frame is late or lost, or the talker stopped. Conceal
            # a tick or two without advancing (a late frame then still plays, one
            # frame later than planned), then wait for a new spurt.
            if self._underrun_run >= UNDERRUN_CONCEAL_FRAMES:
                self._playing = False
                self._underrun_run = 0
                self.underruns += 1
                return NOTHING
            self._underrun_run += 1
            self.stretched += 1
            self.plc += 1
            # Late, not (yet) known lost: grow the target, not the lossy floor.
            self._on_loss(grow=self._underrun_run == 1, lost=False)
            # The k-th such tick stands for frame next + k - 1 if packets resume
            # past it (see the skip when they do).
            wire = (self._next + self._underrun_run - 1) & self._mask
            return Playout(PlayoutKind.PLC, None, wire)
        else:
            run = self._underrun_run
            if run:
                # Packets are back after an underrun. Its PLC ticks stood in for
                # the frames that never came: skip those, but not one a RED copy
                # or FEC in the packet after it can restore.
                self._underrun_run = 0
                ring_seq = self._ring_seq
                nxt = self._next
                if (
                    ring_seq[nxt & (RING_CAPACITY - 1)] != nxt
                    and ring_seq[(nxt + 1) & (RING_CAPACITY - 1)] == nxt + 1
                ):
                    # The frame we stretched for never came but the one after it
                    # did: it was lost, not late. Keep the lossy floor (so the next
                    # loss is restored from the following packet without running
                    # dry) and take back the growth the stretch assumed lateness
                    # for; otherwise every loss at a 1-frame target would add a
                    # frame of delay.
                    self._last_loss = self._ticks
                    self._set_target(float(self._target_frames - 1))
                while run and ring_seq[nxt & (RING_CAPACITY - 1)] != nxt and (
                    ring_seq[(nxt + 1) & (RING_CAPACITY - 1)] != nxt + 1
                ) and nxt not in self._copies:
                    nxt += 1
                    run -= 1
                    self.lost += 1
                    self._last_loss = self._ticks
                self._next = nxt
            depth = self._highest - self._next + 1
            if self._skip_pending:
                self._skip_pending = False
            elif depth > 2 * self._target_frames + 2:
                # Far deeper than needed (a burst after a stall): skip every other tick.
                self._skip_one()
                self._skip_pending = True
                depth -= 1
            if depth < self._window_min:
                self._window_min = depth
            self._window += 1
            if self._window >= TRIM_WINDOW_TICKS:
                if self._window_min > self._target_frames and not self._skip_pending:
                    # Deeper than the target for the whole window: one frame too many.
                    self._excess_ticks += TRIM_WINDOW_TICKS
                    packet = self._ring[self._next & (RING_CAPACITY - 1)]
                    if (
                        self._ring_seq[self._next & (RING_CAPACITY - 1)] != self._next
                        or packet is None
                        or len(packet) < QUIET_FRACTION * self._mean_size
                        or (quiet and len(packet) <= self._mean_size)
                        or self._excess_ticks >= TRIM_FORCE_TICKS
                    ):
                        self._skip_one()
                        self._excess_ticks = 0
                        self._window = 0
                        self._window_min = RING_CAPACITY
                    else:
                        self._window -= 1  # look again next tick for a quiet frame
                else:
                    self._excess_ticks = 0
                    self._window = 0
                    self._window_min = RING_CAPACITY

        ext = self._next
        self._next += 1
        packet = self._take(ext)
        copy = self._copies.pop(ext, None) if self._copies else None
        wire = ext & self._mask
        if packet is not None:
            self.played += 1
            return Playout(PlayoutKind.PACKET, packet, wire)
        self.lost += 1
        self._on_loss(grow=False)
        slot = (ext + 1) & (RING_CAPACITY - 1)
        redundant = self._ring_red[slot] if self._ring_seq[slot] == ext + 1 else b""
        if redundant or copy:
            self.redundant_recovered += 1
            return Playout(PlayoutKind.REDUNDANT, redundant or copy, wire)
        if self._ring_seq[slot] == ext + 1:
            self.fec_recovered += 1
            return Playout(PlayoutKind.FEC, self._ring[slot], wire)
        self.plc += 1
        return Playout(PlayoutKind.PLC, None, wire)
