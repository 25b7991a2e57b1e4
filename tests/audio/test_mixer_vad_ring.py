"""Mixer clipping and volumes, VAD hangover and level meter, SPSC ring wrap."""

from __future__ import annotations

import numpy as np
import pytest

from voip.audio.level import SILENCE_DBFS, frame_level, from_dbfs, to_dbfs
from voip.audio.mixer import FULL_SCALE, Mixer
from voip.audio.ring import SampleRing
from voip.audio.signals import tone
from voip.audio.vad import VoiceActivityDetector


def test_mixer_sums_with_user_and_output_volume_below_knee() -> None:
    a = np.full(960, 0.1, np.float32)
    b = np.full(960, 0.2, np.float32)
    out = Mixer().mix([a, b], volumes=[1.0, 0.5], output_volume=2.0)
    np.testing.assert_allclose(out, 0.4, rtol=1e-6)


def test_mixer_with_no_talkers_is_silence() -> None:
    assert not Mixer().mix([]).any()


def test_mixer_soft_clips_loud_sums_into_open_unit_interval() -> None:
    loud = tone(200.0, 0.02, amplitude=1.0)
    out = Mixer().mix([loud] * 6, output_volume=3.0)
    assert np.max(np.abs(out)) <= FULL_SCALE
    assert np.max(np.abs(out)) > 0.95  # still loud, just bent


def test_soft_clip_is_identity_below_knee_and_monotonic_above() -> None:
    m = Mixer(frame_samples=2001, knee=0.8)
    x = np.linspace(-5, 5, 2001).astype(np.float32)
    y = m.soft_clip(x.copy())
    below = np.abs(x) <= 0.8
    np.testing.assert_array_equal(y[below], x[below])
    assert np.all(np.diff(y) >= 0)
    assert np.all(np.abs(y) <= FULL_SCALE)


def test_mixer_reuses_its_output_buffer() -> None:
    m = Mixer()
    first = m.mix([np.zeros(960, np.float32)])
    assert m.mix([np.ones(960, np.float32) * 0.1]) is first


def test_level_meter_dbfs() -> None:
    sine = tone(1000.0, 0.02, amplitude=1.0)
    level = frame_level(sine)
    assert level.rms_dbfs == pytest.approx(-3.01, abs=0.05)
    assert level.peak_dbfs == pytest.approx(0.0, abs=0.05)
    assert frame_level(np.zeros(960, np.float32)).rms_dbfs == SILENCE_DBFS
    assert to_dbfs(from_dbfs(-20.0)) == pytest.approx(-20.0)


def test_vad_triggers_above_threshold_and_holds_for_hangover() -> None:
    vad = VoiceActivityDetector(threshold_dbfs=-40.0, hangover_seconds=0.1)
    loud = tone(300.0, 0.02, amplitude=0.1)  # about -23 dBFS RMS
    quiet = np.zeros(960, np.float32)
    assert not vad.process(quiet)
    assert vad.process(loud)
    held = [vad.process(quiet) for _ in range(7)]
    assert held == [True] * 5 + [False] * 2  # 100 ms hangover = 5 frames
    vad.process(loud)
    vad.reset()
    assert not vad.active


def test_ring_wraps_and_keeps_order() -> None:
    ring = SampleRing(10)
    out = np.zeros(10, np.float32)
    counter = 0.0
    received: list[float] = []
    for step in range(50):
        chunk = np.arange(counter, counter + 3 + step % 4, dtype=np.float32)
        written = ring.write(chunk)
        counter += written
        n = ring.read_into(out[: 2 + step % 5])
        received.extend(out[:n].tolist())
    n = ring.read_into(out)
    received.extend(out[:n].tolist())
    assert received == [float(i) for i in range(int(counter))]


def test_ring_full_drops_and_counts_short_read_reports() -> None:
    ring = SampleRing(4)
    assert ring.write(np.ones(6, np.float32)) == 4
    assert ring.overflows == 2 and ring.free == 0
    out = np.full(8, 7.0, np.float32)
    assert ring.read_into(out) == 4
    assert ring.available == 0
    assert ring.read_into(out) == 0
