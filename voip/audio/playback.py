"""Playback engine: per-user jitter buffers and decoders -> mixer -> speaker (or file).

A plain thread, not an actor (the client's `PlaybackActor` owns one).
``receive`` may be called from the network thread; it only appends to a
queue, so the network never waits on playback work. The worker thread owns
all per-user state: once per 20 ms, when the sink wants a frame, it drains
the queue into the jitter buffers (creating a decoder and buffer on a user's
first packet), pops one instruction per user, decodes it (packet, redundant
copy, FEC, PLC), mixes and writes the frame. The PortAudio callback only copies out of a ring
(see ``sinks``).

Playout phase: the worker decides a frame when the sink says it is due,
which a sound card sink makes as late as is safe (see ``sinks``). If at that
moment a talker's buffer is starved (playing, but the next packet has not
arrived), the worker waits up to the sink's ``arrival_grace`` for it before
concealing: a packet a few ms late is then played in its own frame instead
of costing a PLC frame and a frame more delay. Sinks that play a frame the
moment it is written (the paced recorders) have no grace.

An ``end_of_transmission`` marker (``end_of_transmission``) goes through the
same queue to that user's jitter buffer: the spurt stops after its last frame
without a PLC fade, and the user stops counting as talking at once instead of
~200 ms after the last frame.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, Decoder, Frame
from voip.audio.devices import DeviceSpec
from voip.audio.echo import FarEnd
from voip.audio.engine import AudioEngine, ErrorCallback
from voip.audio.jitter import JitterBuffer, JitterStats, PlayoutKind
from voip.audio.mixer import Mixer
from voip.audio.opus import OpusDecoder
from voip.audio.protection import LossMeter
from voip.audio.sinks import FrameSink, SoundDeviceSink
from voip.errors import CodecError
from voip.protocol.voice import SEQUENCE_BITS

log = logging.getLogger(__name__)

TALKING_HOLD_SECONDS = 0.2  # a user counts as talking this long after their last frame
QUIET_POWER = 10 ** (-45 / 10)  # mean square of a -45 dBFS frame: a skip there is not heard


@dataclass(slots=True)
class _User:
    decoder: Decoder
    jitter: JitterBuffer
    out: Frame = field(default_factory=lambda: np.zeros(FRAME_SAMPLES, dtype=np.float32))
    last_played: float = float("-inf")
    decode_errors: int = 0
    quiet: bool = True  # the last decoded frame was near silence


@dataclass(frozen=True, slots=True)
class UserPlayback:
    """Published per tick for other threads: talking state and buffer stats."""

    last_played: float
    buffered: int
    stats: JitterStats
    ended: bool = False  # the talker's spurt ended with a marker and has been played out


_FORGET = object()
_Item = tuple[int, object, bytes | None, float, bytes, tuple[bytes, ...]]


class PlaybackEngine(AudioEngine):
    """Decodes, mixes and plays every remote talker."""

    _ROLE = "playback"

    def __init__(
        self,
        device: DeviceSpec | FrameSink = None,
        output_volume: float = 1.0,
        decoder_factory: Callable[[], Decoder] = OpusDecoder,
        on_error: ErrorCallback | None = None,
        seq_bits: int = SEQUENCE_BITS,
        clock: Callable[[], float] = time.monotonic,
        on_tick: Callable[[float], None] | None = None,
        arrival_grace: float | None = None,
    ) -> None:
        super().__init__(on_error)
        if device is None or isinstance(device, int | str):
            self.sink: FrameSink = SoundDeviceSink(device)
        else:
            self.sink = device
        #: Seconds the worker may wait for a starved talker's packet before a
        #: frame (None: the sink's ``arrival_grace``, 0 if it has none).
        self.arrival_grace = (
            float(getattr(self.sink, "arrival_grace", 0.0))
            if arrival_grace is None
            else arrival_grace
        )
        self.grace_rescued = 0  # frames played thanks to the arrival grace
        self.output_volume = output_volume
        self._decoder_factory = decoder_factory
        self._seq_bits = seq_bits
        self.clock = clock
        #: Told ``now`` after each frame the worker writes (on the playback
        #: thread), so an owner can publish who is talking without polling.
        self.on_tick = on_tick
        # (user, sequence or _FORGET, packet or None for an end marker, arrival, redundant,
        #  older copies)
        self._inbox: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        #: Counts each talker's frames and the missing ones, for loss reports.
        self.loss_meter: LossMeter | None = None
        #: Where each mixed frame also goes, for the capture side's echo canceller.
        self.far_end: FarEnd | None = None
        self._users: dict[int, _User] = {}
        self._volumes: dict[int, float] = {}
        self._mixer = Mixer()
        self._published: Mapping[int, UserPlayback] = {}
        self.frames_played = 0

    # -- any thread -------------------------------------------------------------

    def receive(
        self, sender_id: int, sequence: int, opus: bytes, now: float, redundant: bytes = b"",
        older: tuple[bytes, ...] = (),
    ) -> None:
        """Queue one voice packet that arrived at ``now`` (this engine's clock).

        ``redundant``: the previous frame's full Opus packet the datagram
        carried (``VoiceFrame.redundant_opus``), played if that frame is lost;
        ``older``: copies of frames sequence - 2, - 3 (``older_redundant_opus``).
        """
        self._inbox.put((sender_id, sequence, opus, now, redundant, older))

    def end_of_transmission(self, sender_id: int, sequence: int, now: float) -> None:
        """Queue a talker's end marker: their spurt ended with frame ``sequence``."""
        self._inbox.put((sender_id, sequence, None, now, b"", ()))

    def forget_user(self, user_id: int) -> None:
        """Drop a user's decoder and buffer (they left); takes effect next tick."""
        self._inbox.put((user_id, _FORGET, b"", 0.0, b"", ()))

    def set_user_volume(self, user_id: int, volume: float) -> None:
        """Linear gain for one user (1.0 = unchanged); kept across forget_user."""
        self._volumes[user_id] = volume

    def user_volume(self, user_id: int) -> float:
        return self._volumes.get(user_id, 1.0)

    def talking_users(self, now: float) -> frozenset[int]:
        """Users with buffered packets or a frame played in the last ~200 ms.

        A user whose spurt was ended by a marker (and fully played) is not
        talking, hold or not.
        """
        return frozenset(
            uid
            for uid, p in self._published.items()
            if p.buffered > 0 or (not p.ended and now - p.last_played <= TALKING_HOLD_SECONDS)
        )

    def user_playback(self) -> Mapping[int, UserPlayback]:
        """The latest per-user snapshot (immutable; replaced every tick)."""
        return self._published

    # -- lifecycle (AudioEngine) ------------------------------------------------

    def _open_end(self) -> None:
        self.sink.start()

    def _close_end(self) -> None:
        self.sink.stop()
        for uid, played in self._published.items():
            log.info("talker %d: %s", uid, played.stats)

    # -- worker -----------------------------------------------------------------

    def _work(self) -> None:
        while self._running.is_set():
            if self.sink.wait_ready(timeout=0.1):
                if self.arrival_grace > 0:
                    self._await_starved(time.monotonic() + self.arrival_grace)
                now = self.clock()
                self.sink.write(self.tick(now))
                if self.on_tick is not None:
                    self.on_tick(now)

    def _drain_inbox(self) -> None:
        inbox = self._inbox
        while True:
            try:
                item = inbox.get_nowait()
            except queue.Empty:
                return
            self._take(item)

    def _take(self, item: _Item) -> None:
        uid, sequence, packet, arrived, redundant, older = item
        users = self._users
        if sequence is _FORGET:
            users.pop(uid, None)
            return
        user = users.get(uid)
        if user is None:
            if packet is None:
                return  # an end marker from someone we never heard
            user = _User(self._decoder_factory(), JitterBuffer(seq_bits=self._seq_bits))
            users[uid] = user
            log.debug("first voice packet from user %d", uid)
        assert isinstance(sequence, int)
        if packet is None:
            user.jitter.end(sequence, arrived)
        else:
            user.jitter.insert(sequence, packet, arrived, redundant, older)

    def _await_starved(self, deadline: float) -> None:
        """Until ``deadline`` (time.monotonic), wait for packets while a talker is starved."""
        self._drain_inbox()
        starved = [u for u in self._users.values() if u.jitter.starved]
        if not starved:
            return
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                item = self._inbox.get(timeout=remaining)
            except queue.Empty:
                return
            self._take(item)
            self._drain_inbox()
            still = [u for u in starved if u.jitter.starved]
            self.grace_rescued += len(starved) - len(still)
            starved = still
            if not starved:
                return

    def _decode(self, user: _User, kind: PlayoutKind, packet: bytes | None) -> Frame | None:
        try:
            if (kind is PlayoutKind.PACKET or kind is PlayoutKind.REDUNDANT) and packet is not None:
                return user.decoder.decode(packet, out=user.out)
            if kind is PlayoutKind.FEC and packet is not None:
                return user.decoder.decode_fec(packet, out=user.out)
            if kind is PlayoutKind.PLC:
                return user.decoder.decode_plc(out=user.out)
        except CodecError as exc:
            # A corrupt packet from one user must not silence everyone.
            user.decode_errors += 1
            log.debug("dropping undecodable voice frame: %s", exc)
            return user.decoder.decode_plc(out=user.out)
        return None

    def tick(self, now: float) -> Frame:
        """Produce one mixed frame (the worker's body; callable directly in tests)."""
        self._drain_inbox()
        frames: list[Frame] = []
        volumes: list[float] = []
        published: dict[int, UserPlayback] = {}
        meter = self.loss_meter
        for uid, user in self._users.items():
            playout = user.jitter.pop(user.quiet)
            if meter is not None and playout.kind is not PlayoutKind.NOTHING:
                meter.played(uid, missing=playout.kind is not PlayoutKind.PACKET)
            frame = self._decode(user, playout.kind, playout.packet)
            if frame is not None:
                user.quiet = float(np.dot(frame, frame)) < QUIET_POWER * FRAME_SAMPLES
                frames.append(frame)
                volumes.append(self._volumes.get(uid, 1.0))
                if playout.kind is not PlayoutKind.PLC:
                    user.last_played = now
            jitter = user.jitter
            published[uid] = UserPlayback(
                user.last_played, len(jitter), jitter.stats(), jitter.ended_spurt
            )
        self._published = published
        self.frames_played += 1
        mixed = self._mixer.mix(frames, volumes, self.output_volume)
        if self.far_end is not None:
            self.far_end.push(mixed)
        return mixed
