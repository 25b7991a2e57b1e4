"""Speech quality through loss: PESQ wideband of the receive path's output.

The path, per case: a speech WAV (espeak-ng, made at run time) at 48 kHz ->
``OpusEncoder`` (32 kbit/s VBR, DTX on, in-band FEC on or off; DTX packets
are not sent, as the client does) -> a loss pattern (independent "random"
losses, or "bursty" Gilbert-Elliott losses with mean burst 3 packets, at
0/5/10/20 %) -> a constant 30 ms network delay -> a real ``JitterBuffer``
popped every 20 ms -> ``OpusDecoder`` following each playout instruction.
The output is the stream as played (silence while the buffer is empty or
rebuffering), shifted by the constant start-up delay.

Variants, to see what each repair is worth:

- ``red+fec+plc``: the product: each datagram also carries the previous
  frame's full packet (RED); a missing frame plays that copy when the next
  datagram is there, else in-band FEC, else PLC. Loss hint 0 (LBRR off: it
  would protect the same frame from the same datagram, at lower quality);
- ``red+fec+plc@48k``: the same at 48 kbit/s (x2 on the wire with the copy);
- ``fec+plc``: the previous product: FEC from the next packet when it is
  there, PLC otherwise (loss hint 10 %);
- ``plc``: encoder FEC off, every lost frame concealed by PLC;
- ``fec+silence``: FEC when possible, silence in place of PLC;
- ``silence``: FEC off and silence for every lost frame (no repair at all);
- ``fec+plc@48k``: the product's repairs at 48 kbit/s instead of 32;
- ``red2@32k``: two copies per datagram (the previous two frames) at
  32 kbit/s, the "lossy" protection level (voip.audio.protection); the
  receiver keeps one frame of buffer per copy while it sees loss;
- ``red2+hint20@24k`` (a "heavy" level: two copies, 24 kbit/s, loss hint
  20 %, so LBRR is on too), ``red2@40k``, ``red2+lbrr@32k`` (hint 10 %) and
  ``red3@32k`` (three copies): the alternatives ``red2@32k`` was chosen over.

``kind="voices"``: each protection level on five espeak-ng voices (four
languages, both sexes) at no loss, 10 % random, 10 % bursty and 20 % random
loss, 3 seeds each; ``adaptive`` is true where the level is the one the
policy picks for that loss.

Without RED at the encoder's default loss hint (10 %). ``kind="codec"`` records score
the codec alone (no loss, no buffer) over bitrates, FEC on/off and loss hints:
with FEC on, libopus spends bits on redundancy in proportion to the hint, and
the clean-channel quality pays for it.

``unplayed_frames``: frames with no playout of their own: skipped to pull
the delay in (at quiet frames), or lost when the buffer ran dry for longer
than its underrun concealment. ``kbit_s``: Opus payload bitrate on the wire
(both packets with RED). ``red_frames``: frames played from the copy.

Score: PESQ P.862.2 wideband (``pesq`` package) of the output against the
input, both resampled to 16 kHz; mean (and min) over several loss seeds.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks import traces
from benchmarks.report import Record, Unavailable
from benchmarks.speech import voices as speech_voices
from voip.audio.audiofile import read_audio
from voip.audio.codec import FRAME_SAMPLES
from voip.audio.jitter import JitterBuffer, PlayoutKind
from voip.audio.opus import DTX_MAX_BYTES, OpusDecoder, OpusEncoder
from voip.audio.playback import QUIET_POWER
from voip.audio.protection import LEVELS, Level

log = logging.getLogger(__name__)

FALLBACK_WAV = Path(__file__).resolve().parent / "data" / "fallback-speech.wav"
SHORT_TEXT = "The quick brown fox jumps over the lazy dog. Every frame counts."
FULL_TEXT = (
    "The quick brown fox jumps over the lazy dog. A voice chat must stay clear "
    "when packets are lost, so every frame counts. Please call Stella and ask her "
    "to bring these things with her from the store."
)
LOSS_PCT = (0, 5, 10, 20)
LOSS_MODELS = ("random", "bursty")
# name -> (bitrate, encoder FEC, loss hint %, decoder uses FEC, PLC (else silence),
#          redundancy: each datagram carries the previous frame's packet)
#          (an int: that many previous frames' packets per datagram)
VARIANTS: dict[str, tuple[int, bool, int, bool, bool, bool | int]] = {
    "red2@32k": (32_000, True, 0, True, True, 2),  # the "lossy" protection level
    "red2+hint20@24k": (24_000, True, 20, True, True, 2),  # a "heavy" level, left out
    "red2@40k": (40_000, True, 0, True, True, 2),
    "red2+lbrr@32k": (32_000, True, 10, True, True, 2),
    "red3@32k": (32_000, True, 0, True, True, 3),
    "red+fec+plc": (32_000, True, 0, True, True, True),
    "red+fec+plc@48k": (48_000, True, 0, True, True, True),
    "fec+plc": (32_000, True, 10, True, True, False),
    "plc": (32_000, False, 10, False, True, False),
    "fec+silence": (32_000, True, 10, True, False, False),
    "silence": (32_000, False, 10, False, False, False),
    "fec+plc@48k": (48_000, True, 10, True, True, False),
}
# Codec alone on a clean channel: what bitrate, FEC and the loss hint cost.
CODEC_SWEEP = [(b, f, h) for b in (24_000, 32_000, 48_000)
               for f, h in ((False, 0), (True, 0), (True, 10), (True, 20))]
NETWORK_DELAY = 0.030

Samples = npt.NDArray[np.float32]


def speech(text: str, wav: Path | None) -> tuple[Samples, str]:
    """48 kHz mono speech peaking at 0.5, and where it came from."""
    if wav is not None:
        source, x = str(wav), read_audio(wav)
    elif shutil.which("espeak-ng"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "speech.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-us", "-s", "155", "-w", str(path), text],
                check=True, capture_output=True, timeout=60,
            )
            source, x = "espeak-ng", read_audio(path)
    elif FALLBACK_WAV.exists():
        log.warning("espeak-ng not found; using the committed %s", FALLBACK_WAV.name)
        source, x = f"file:{FALLBACK_WAV.name}", read_audio(FALLBACK_WAV)
    else:
        raise Unavailable("neither espeak-ng nor the fallback speech WAV is available")
    frames = len(x) // FRAME_SAMPLES
    x = x[: frames * FRAME_SAMPLES]
    peak = float(np.max(np.abs(x))) or 1.0
    return (x * (0.5 / peak)).astype(np.float32), source


def encode(pcm: Samples, bitrate: int, fec: bool, hint: int) -> list[bytes | None]:
    """One packet per frame; None where DTX means nothing is sent."""
    encoder = OpusEncoder(bitrate=bitrate, fec=fec, loss_percent=hint)
    packets: list[bytes | None] = []
    for i in range(len(pcm) // FRAME_SAMPLES):
        packet = encoder.encode(pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        packets.append(packet if len(packet) > DTX_MAX_BYTES else None)
    encoder.close()
    return packets


def loss_mask(model: str, pct: int, n: int, seed: int) -> npt.NDArray[np.bool_]:
    if pct == 0:
        return np.zeros(n, dtype=bool)
    if model == "random":
        return traces.random_loss(n, pct / 100, seed=seed)
    return traces.gilbert_elliott(n, pct / 100, 3.0, seed=seed)


def receive(
    packets: list[bytes | None],
    lost: npt.NDArray[np.bool_],
    repair_fec: bool,
    plc: bool,
    red: bool = False,
    red_depth: int = 1,
) -> tuple[Samples, dict[str, int]]:
    """Play the packets that survive through a JitterBuffer and a decoder.

    ``red``: each datagram also carries the previous frame's packet (as the
    capture engine sends with redundancy on).
    """
    n = len(packets)
    frame = traces.FRAME
    jb = JitterBuffer(seq_bits=32, lossy_min_target=1 + red_depth if red else 2)
    got: set[int] = set()
    decoder = OpusDecoder()
    ticks = n + 40
    out = np.zeros(ticks * FRAME_SAMPLES, dtype=np.float32)
    counts = {"red": 0, "fec": 0, "plc": 0, "silent": 0, "unplayed": 0}
    covered: set[int] = set()
    first_tick: int | None = None
    first_seq = 0
    arrivals = [i for i in range(n) if packets[i] is not None and not lost[i]]
    k = 0
    for tick in range(ticks):
        now = (tick + 0.37) * frame + NETWORK_DELAY
        while k < len(arrivals) and arrivals[k] * frame + NETWORK_DELAY <= now:
            i = arrivals[k]
            packet = packets[i]
            assert packet is not None
            prior = packets[i - 1] if red and i > 0 else None
            at = arrivals[k] * frame + NETWORK_DELAY
            for back in range(2, red_depth + 1) if red else ():
                # older copies: frame i - back, if its own datagram never came
                j = i - back
                if j >= 0 and j not in got and packets[j]:
                    jb.insert(j, packets[j] or b"", at, (packets[j - 1] if j else b"") or b"")
                    got.add(j)
            jb.insert(i, packet, at, prior or b"")
            got.add(i)
            k += 1
        previous = out[(tick - 1) * FRAME_SAMPLES : tick * FRAME_SAMPLES] if tick else out[:0]
        playout = jb.pop(quiet=float(np.dot(previous, previous)) < QUIET_POWER * FRAME_SAMPLES)
        dest = out[tick * FRAME_SAMPLES : (tick + 1) * FRAME_SAMPLES]
        if playout.kind is PlayoutKind.NOTHING:
            continue
        if playout.sequence is not None:
            covered.add(playout.sequence)
            if first_tick is None:
                first_tick, first_seq = tick, playout.sequence
        if playout.kind is PlayoutKind.PACKET and playout.packet is not None:
            decoder.decode(playout.packet, dest)
        elif playout.kind is PlayoutKind.REDUNDANT and playout.packet is not None:
            decoder.decode(playout.packet, dest)
            counts["red"] += 1
        elif playout.kind is PlayoutKind.FEC and repair_fec and playout.packet is not None:
            decoder.decode_fec(playout.packet, dest)
            counts["fec"] += 1
        elif plc:
            decoder.decode_plc(dest)
            counts["plc"] += 1
        else:
            counts["silent"] += 1  # leave the frame silent; the decoder never hears of it
    decoder.close()
    # Frames that were sent but got no playout at all: the buffer ran dry
    # across a loss burst and waited for the next packets in silence.
    counts["unplayed"] = sum(1 for i in range(n) if packets[i] is not None and i not in covered)
    shift = ((first_tick or 0) - first_seq) * FRAME_SAMPLES
    played = out[shift : shift + n * FRAME_SAMPLES]
    return played, counts


def pesq_wb(reference: Samples, degraded: Samples) -> float:
    from pesq import pesq
    from scipy.signal import resample_poly

    ref = resample_poly(reference, 1, 3)
    deg = resample_poly(degraded, 1, 3)
    return float(pesq(16_000, ref, deg, "wb"))


def codec_only(pcm: Samples, bitrate: int, fec: bool, hint: int) -> Record:
    encoder = OpusEncoder(bitrate=bitrate, fec=fec, loss_percent=hint)
    decoder = OpusDecoder()
    out = np.zeros_like(pcm)
    sizes = []
    for i in range(len(pcm) // FRAME_SAMPLES):
        packet = encoder.encode(pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        sizes.append(len(packet))
        decoder.decode(packet, out[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
    encoder.close()
    decoder.close()
    return {
        "benchmark": "quality",
        "kind": "codec",
        "bitrate": bitrate,
        "fec": fec,
        "loss_hint_pct": hint,
        "pesq_wb": pesq_wb(pcm, out),
        "opus_bytes_mean": float(np.mean(sizes)),
    }


#: The protection levels of voip.audio.protection as quality variants.
LEVEL_VARIANTS = {Level.CLEAN: "red+fec+plc@48k", Level.LOSSY: "red2@32k"}
#: Measured beside them on the same voices, and left out of the table.
REJECTED_LEVELS = {"heavy": "red2+hint20@24k"}
VOICE_CASES = (("none", 0), ("random", 10), ("bursty", 10), ("random", 20))


def adaptive_level(loss_pct: float) -> Level:
    """The level ProtectionPolicy settles on for a listener losing ``loss_pct``."""
    return max(p.level for p in LEVELS if loss_pct / 100 >= p.enter_loss)


def voice_records(short: bool) -> list[Record]:
    """Each protection level on several voices (``kind=voices``), so no figure
    rests on one sample; ``adaptive`` marks the level the policy would use."""
    voices = speech_voices(1 if short else None)
    seeds = (1,) if short else (1, 2, 3)
    records: list[Record] = []
    levels: list[tuple[str, str, Level | None]] = [
        (lv.name.lower(), v, lv) for lv, v in LEVEL_VARIANTS.items()
    ] + [(name, v, None) for name, v in REJECTED_LEVELS.items()]
    for name, variant, level in levels:
        bitrate, fec, hint, repair_fec, plc, red = VARIANTS[variant]
        for voice, pcm in voices.items():
            packets = encode(pcm, bitrate, fec, hint)
            n = len(packets)
            for model, pct in VOICE_CASES:
                scores = []
                for seed in seeds if pct else seeds[:1]:
                    out, _ = receive(packets, loss_mask(model, pct, n, seed), repair_fec, plc,
                                     bool(red), int(red))
                    scores.append(pesq_wb(pcm, out))
                records.append({
                    "benchmark": "quality", "kind": "voices", "voice": voice,
                    "level": name, "variant": variant, "loss_model": model,
                    "loss_pct": pct, "pesq_wb": float(np.mean(scores)),
                    "pesq_wb_min": float(np.min(scores)), "runs": len(scores),
                    "adaptive": adaptive_level(pct) is level,
                })
    return records


def run(args: argparse.Namespace) -> list[Record]:
    try:
        import pesq  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"{exc.name} is not installed (pip install -e '.[bench]')") from exc
    short = bool(args.short)
    pcm, source = speech(SHORT_TEXT if short else FULL_TEXT, getattr(args, "wav", None))
    seeds = (1,) if short else (1, 2, 3, 4, 5)
    encodings = {cfg[:3]: encode(pcm, *cfg[:3]) for cfg in VARIANTS.values()}
    n = len(pcm) // FRAME_SAMPLES
    records: list[Record] = []
    cases = [("none", 0)] + [(m, p) for m in LOSS_MODELS for p in LOSS_PCT if p]
    for model, pct in cases:
        for variant, (bitrate, fec, hint, repair_fec, plc, red) in VARIANTS.items():
            packets = encodings[(bitrate, fec, hint)]
            scores: list[float] = []
            totals = {"red": 0, "fec": 0, "plc": 0, "silent": 0, "unplayed": 0}
            measured: list[float] = []
            for seed in seeds if pct else seeds[:1]:
                lost = loss_mask(model, pct, n, seed)
                measured.append(100.0 * float(lost.mean()))
                out, counts = receive(packets, lost, repair_fec, plc, bool(red), int(red))
                scores.append(pesq_wb(pcm, out))
                for key, value in counts.items():
                    totals[key] += value
            runs = len(scores)
            records.append({
                "benchmark": "quality",
                "kind": "pesq",
                "loss_model": model,
                "loss_pct": pct,
                "variant": variant,
                "pesq_wb": float(np.mean(scores)),
                "pesq_wb_min": float(np.min(scores)),
                "runs": runs,
                "measured_loss_pct": float(np.mean(measured)),
                "red_frames": totals["red"] / runs,
                "fec_frames": totals["fec"] / runs,
                "plc_frames": totals["plc"] / runs,
                "silent_frames": totals["silent"] / runs,
                "unplayed_frames": totals["unplayed"] / runs,
                "frames": n,
                "kbit_s": 8 * sum(len(p) for p in packets if p) * (1 + int(red))
                / (n * 0.020) / 1000,
                "speech": source,
            })
    sweep = CODEC_SWEEP if not short else [c for c in CODEC_SWEEP if c[0] == 32_000]
    records.extend(codec_only(pcm, *cfg) for cfg in sweep)
    records.extend(voice_records(short))
    return records
