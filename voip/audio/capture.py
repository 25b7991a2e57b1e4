"""Capture engine: microphone (or file) -> DSP chain, level, transmit decision, Opus -> send.

A plain thread, not an actor (the client's `CaptureActor` owns one). The
PortAudio callback only copies into a ring (see ``sources``); this engine's
worker thread takes 960-sample frames, applies the input volume, runs the
capture chain (``dsp``: echo cancellation, noise suppression, gain control;
each optional), measures the level, decides whether to transmit (the voice
activity detector uses the suppressor's speech probability when there is
one), encodes and calls ``send``. A new ``DspSettings`` (``set_dsp``, any
thread) takes effect at the next frame, built on the worker thread.

Sequence numbers count 20 ms frames since start whether or not they are sent,
like RTP timestamps: the receiver's jitter estimate stays valid across pauses,
and a gap (silence, DTX) is recognisably a gap rather than loss.
DTX packets (<= 2 bytes) are not sent.

End of a talk spurt: when frames were being sent and one is not (transmission
stopped, or the encoder went DTX in a pause), and when the engine stops or
its source runs out mid-spurt, ``send_end`` is told the sequence number of
the spurt's last sent frame, once. The client sends it as an
``end_of_transmission`` marker so receivers stop playing that talker at once
instead of concealing the missing frames as if they were late.

Redundancy (on by default): each packet goes out with a full copy of the
previous frame's packet (RFC 2198-style, ``VoiceDatagram.redundant_opus``),
so a receiver missing one frame plays it at full quality from the next
datagram. Opus in-band FEC (LBRR) protects the same frame from the same
packet at lower quality and costs bits on a clean channel (PESQ 4.05 -> 3.24
at 32 kbit/s with a 10 % hint), so with redundancy the encoder's loss hint is
0 (LBRR off) and the bitrate 48 kbit/s (measured: PESQ-WB 4.25 clean, 3.31
at 10 % random loss). Redundancy needs a ``send_voice`` callback (it takes the
copies); with only the two-argument ``send`` the engine sends single packets
with in-band FEC, as before.

Protection adapts to what listeners lose (``protection``): ``loss_feedback``
(any thread) hands one listener's report to the ``ProtectionPolicy``; when it
picks another level the worker applies it before its next frame: how many
previous frames' packets go with each one (1 or 2), the bitrate and the
encoder's loss hint.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, Encoder
from voip.audio.devices import DeviceSpec
from voip.audio.dsp import CaptureChain, DspSettings
from voip.audio.echo import FarEnd
from voip.audio.engine import AudioEngine, ErrorCallback
from voip.audio.level import SILENT, Level, frame_level
from voip.audio.opus import (
    DEFAULT_LOSS_PERCENT,
    DTX_MAX_BYTES,
    OpusEncoder,
)
from voip.audio.protection import LEVELS, LossReport, Protection, ProtectionPolicy
from voip.audio.sources import FrameSource, SoundDeviceSource
from voip.audio.transmission import TransmissionMode
from voip.audio.vad import DEFAULT_THRESHOLD_DBFS, VoiceActivityDetector
from voip.protocol.voice import MAX_OPUS_PAYLOAD, SEQUENCE_BITS

log = logging.getLogger(__name__)

SendCallback = Callable[[bytes, int], None]
"""Receives (opus packet, sequence number); called on the capture thread."""

VoiceSendCallback = Callable[[bytes, int, tuple[bytes, ...]], None]
"""Receives (opus packet, sequence number, copies of the previous frames'
packets, newest first: sequence - 1, - 2, ...; an entry is b"" where that frame
was not sent, and the tuple is empty without redundancy); called on the
capture thread."""

EndCallback = Callable[[int], None]
"""Receives the sequence number of the last frame sent in a talk spurt that
just ended; called on the capture thread (or the thread calling ``stop``)."""

FrameCallback = Callable[[], None]
"""Told after each captured frame (and when a finished source ends a spurt), on
the capture thread, so an owner can publish the level and notice the end of a
talk spurt without polling. Must be quick and must not block."""


class CaptureEngine(AudioEngine):
    """Turns a frame source into a stream of Opus packets handed to ``send``."""

    _ROLE = "capture"

    def __init__(
        self,
        device: DeviceSpec | FrameSource = None,
        send: SendCallback | None = None,
        mode: TransmissionMode = TransmissionMode.PUSH_TO_TALK,
        vad_threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
        input_volume: float = 1.0,
        encoder: Encoder | None = None,
        on_error: ErrorCallback | None = None,
        seq_bits: int = SEQUENCE_BITS,
        on_frame: FrameCallback | None = None,
        send_voice: VoiceSendCallback | None = None,
        redundancy: bool = True,
        send_end: EndCallback | None = None,
        dsp: DspSettings | None = None,
        far_end: FarEnd | None = None,
    ) -> None:
        super().__init__(on_error)
        if device is None or isinstance(device, int | str):
            self.source: FrameSource = SoundDeviceSource(device)
        else:
            self.source = device
        self._send = send or (lambda packet, seq: None)
        self._send_voice = send_voice
        #: Send the previous frame's packet along with each one (needs send_voice).
        self.redundancy = redundancy and send_voice is not None
        # (sequence, packet) of the last frames sent this spurt, newest last
        self._history: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=4)
        self.policy = ProtectionPolicy()
        #: The protection the worker sends with (the policy's choice, once applied).
        self.protection: Protection = LEVELS[0]
        self._protection_wanted: Protection = LEVELS[0]
        self._send_end = send_end
        self._spurt_last: int | None = None  # sequence of the last frame sent this spurt
        self.mode = mode
        self.input_volume = input_volume
        self._vad = VoiceActivityDetector(threshold_dbfs=vad_threshold_dbfs)
        self._encoder = encoder
        self._on_frame = on_frame
        #: Played frames for the echo canceller (the playback engine pushes them).
        self.far_end = far_end
        self._dsp_wanted: DspSettings | None = dsp
        self._chain: CaptureChain | None = None
        #: The suppressor's speech probability for the last frame (None without one).
        self.speech_probability: float | None = None
        self._seq_mask = (1 << seq_bits) - 1
        self._ptt = False
        self._frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self.is_transmitting = False
        self.level: Level = SILENT
        self.sequence = 0  # sequence number of the next frame
        self.frames_captured = 0
        self.packets_sent = 0
        self.bytes_sent = 0

    # -- controls (any thread) ------------------------------------------------

    def press_ptt(self) -> None:
        """Push-to-talk key down (StartTransmit)."""
        self._ptt = True

    def release_ptt(self) -> None:
        """Push-to-talk key up (StopTransmit)."""
        self._ptt = False

    @property
    def ptt_pressed(self) -> bool:
        return self._ptt

    @property
    def vad_threshold_dbfs(self) -> float:
        return self._vad.threshold_dbfs

    @vad_threshold_dbfs.setter
    def vad_threshold_dbfs(self, value: float) -> None:
        self._vad.threshold_dbfs = value

    @property
    def dsp(self) -> DspSettings | None:
        """The capture chain's settings (None: the microphone goes to Opus as it is)."""
        return self._dsp_wanted

    def set_dsp(self, settings: DspSettings | None) -> None:
        """Change the capture chain; the worker builds it before its next frame.

        A suppressor whose library is missing fails here, on the caller's
        thread, with its reason, rather than silently on the worker.
        """
        if settings is not None:
            CaptureChain(settings).close()  # raises SuppressorUnavailable, AudioError
        self._dsp_wanted = settings

    def loss_feedback(self, reporter_id: int, frames: int, lost: int, now: float) -> Protection:
        """One listener's loss report about this talker (any thread); returns the
        protection the policy chose, which the worker applies from its next frame."""
        wanted = self.policy.report(LossReport(reporter_id, frames, lost), now)
        self._protection_wanted = wanted
        return wanted

    def _update_protection(self) -> None:
        wanted = self._protection_wanted
        if wanted == self.protection or not self.redundancy:
            return
        encoder = self._encoder
        if isinstance(encoder, OpusEncoder):
            encoder.set_bitrate(wanted.bitrate)
            encoder.set_packet_loss_percent(wanted.loss_hint_pct)
        log.info("voice protection %s: %d copies, %d kbit/s, loss hint %d %%",
                 wanted.level.name.lower(), wanted.redundant_frames, wanted.bitrate // 1000,
                 wanted.loss_hint_pct)
        self.protection = wanted

    def _copies(self, sequence: int, packet: bytes) -> tuple[bytes, ...]:
        """The previous frames' packets to send with ``packet`` (newest first)."""
        if not self.redundancy:
            return ()
        sent = dict(self._history)
        copies = [sent.get((sequence - k) & self._seq_mask, b"")
                  for k in range(1, self.protection.redundant_frames + 1)]
        while copies and not copies[-1]:
            copies.pop()
        while copies and len(packet) + sum(map(len, copies)) > MAX_OPUS_PAYLOAD:
            copies.pop()  # they would not all fit one datagram: the oldest go first
        return tuple(copies)

    def _update_chain(self) -> None:
        wanted = self._dsp_wanted
        chain = self._chain
        if (chain.settings if chain is not None else None) == wanted:
            return
        if chain is not None:
            chain.close()
        self._chain = CaptureChain(wanted, self.far_end) if wanted is not None else None
        self._vad.reset()

    # -- lifecycle (AudioEngine) ----------------------------------------------

    def _prepare(self) -> None:
        if self._encoder is None:
            if self.redundancy:
                self._encoder = OpusEncoder(
                    bitrate=self.protection.bitrate, loss_percent=self.protection.loss_hint_pct
                )
            else:
                self._encoder = OpusEncoder(loss_percent=DEFAULT_LOSS_PERCENT)

    def _open_end(self) -> None:
        self.source.start()

    def _close_end(self) -> None:
        self.source.stop()

    def _closed(self) -> None:
        if self._chain is not None:
            self._chain.close()
            self._chain = None
        self._end_spurt()
        self.is_transmitting = False
        self.level = SILENT

    # -- worker ---------------------------------------------------------------

    def _wants_to_transmit(self, speaking: bool) -> bool:
        mode = self.mode
        if mode is TransmissionMode.CONTINUOUS:
            return True
        if mode is TransmissionMode.PUSH_TO_TALK:
            return self._ptt
        if mode is TransmissionMode.VOICE_ACTIVATED:
            return speaking
        return False

    def _work(self) -> None:
        while self._running.is_set():
            frame = self.source.read(timeout=0.1)
            if frame is None:
                if self.source.finished:
                    self._end_spurt()
                    was_transmitting = self.is_transmitting
                    self.is_transmitting = False
                    self.level = SILENT
                    if was_transmitting and self._on_frame is not None:
                        self._on_frame()
                continue
            self.process_frame(frame)

    def process_frame(self, frame: np.ndarray) -> None:
        """Handle one captured frame (the worker's body; callable directly in tests)."""
        work = self._frame
        np.multiply(frame, self.input_volume, out=work)
        self._update_chain()
        probability = None
        if self._chain is not None:
            processed = self._chain.process(work)
            work, probability = processed.frame, processed.speech_probability
        self.speech_probability = probability
        self.level = frame_level(work)
        speaking = self._vad.update(self.level.rms_dbfs, probability)
        transmit = self._wants_to_transmit(speaking)
        sequence = self.sequence
        self.sequence = (sequence + 1) & self._seq_mask
        self.frames_captured += 1
        if transmit:
            assert self._encoder is not None
            self._update_protection()
            packet = self._encoder.encode(work)
            if len(packet) > DTX_MAX_BYTES:
                if self._send_voice is not None:
                    copies = self._copies(sequence, packet)
                    self._send_voice(packet, sequence, copies)
                    self.bytes_sent += sum(map(len, copies))
                else:
                    self._send(packet, sequence)
                self._history.append((sequence, packet))
                self._spurt_last = sequence
                self.packets_sent += 1
                self.bytes_sent += len(packet)
            else:
                self._history.clear()
                self._end_spurt()  # DTX: a pause; the next packet starts a new spurt
        else:
            self._history.clear()
            self._end_spurt()
        self.is_transmitting = transmit
        if self._on_frame is not None:
            self._on_frame()

    def _end_spurt(self) -> None:
        last, self._spurt_last = self._spurt_last, None
        if last is not None and self._send_end is not None:
            self._send_end(last)
