"""Mouth-to-ear with a browser at one end: browser -> native and native -> browser.

The same click train as ``e2e.py`` (4 ms clicks every 500 ms over low noise)
through a real server process opened to browsers (``--web-listen``), with
headless Chromium (Selenium) running the real page from the server's join
link, its fake microphone playing the click train from a WAV file.

- native -> browser: the real ``CaptureEngine`` talks as in ``e2e.py``; the
  page's playback is tapped from its playout worklet. A click "left the
  speaker" when the worklet produced it: the wall-clock time the page got
  the tap chunk holding it, minus the samples after it in that chunk.
- browser -> native: the page transmits continuously; its microphone is
  tapped where the page receives each 20 ms frame (after the browser's own
  echo cancellation, noise suppression and gain control). A click "entered
  the microphone" at the wall-clock time the page got the frame holding it,
  minus the samples after it in the frame; it left at the native listener's
  ``PlaybackEngine`` sink as in ``e2e.py``.

Both ends are on this machine, so the page's ``performance.timeOrigin +
performance.now()`` and Python's ``time.time()`` are the same clock (to
about a millisecond); Python's monotonic times are converted with one offset.
What is not counted: Chromium's own capture path before the page (its fake
device and audio processing) and its output after the worklet, as the
native case leaves out the sound card.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.e2e import (
    CLICK_PERIOD,
    TimedSink,
    TimedSource,
    click_train,
    detect_onsets,
)
from benchmarks.loadclients import LoadProtocol, join
from benchmarks.report import Record, Unavailable, percentile
from benchmarks.serverproc import ServerProcess
from voip.audio.audiofile import write_audio
from voip.audio.capture import CaptureEngine, TransmissionMode
from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE
from voip.audio.playback import PlaybackEngine
from voip.protocol.voice import VoiceFrame, decode_voice, encode_voice

LINK = re.compile(r"browsers join with this link: (\S+)")


class Listener(LoadProtocol):
    """A load client (the client core and glue) whose voice feeds a `PlaybackEngine`."""

    playback: PlaybackEngine | None = None

    def datagram_frame_received(self, data: bytes) -> None:
        if self.playback is None:
            return
        frame = decode_voice(data)
        if frame.opus:
            self.playback.receive(
                frame.sender_id, frame.sequence, frame.opus, time.monotonic(), frame.redundant_opus
            )
        if frame.end_of_transmission:
            self.playback.end_of_transmission(frame.sender_id, frame.sequence, time.monotonic())


TAKE_TAP = """
const tap = window.voip.audio[arguments[0]]();
const ints = new Int16Array(tap.pcm.length);
for (let i = 0; i < ints.length; i++) ints[i] = Math.max(-1, Math.min(1, tap.pcm[i])) * 32767;
let s = "";
const bytes = new Uint8Array(ints.buffer);
for (let i = 0; i < bytes.length; i += 0x8000) {
  s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
}
return [btoa(s), tap.ends];
"""


def wall_offset() -> float:
    """time.time() - time.monotonic(), to put monotonic times on the wall clock."""
    return time.time() - time.monotonic()


def take_tap(driver: Any, which: str) -> tuple[npt.NDArray[np.float32], list[tuple[int, float]]]:
    encoded, ends = driver.execute_script(TAKE_TAP, which)
    pcm = np.frombuffer(base64.b64decode(encoded), dtype="<i2").astype(np.float32) / 32767.0
    return pcm, [(int(end), float(at) / 1000.0) for end, at in ends]


def tap_time(ends: list[tuple[int, float]], sample: int) -> float | None:
    """Wall time a tapped sample reached the page: its chunk's arrival minus what followed."""
    for end, at in ends:
        if sample < end:
            return at - (end - sample) / SAMPLE_RATE
    return None


def latencies(entered: list[float], left: list[float]) -> list[float]:
    """Per output click: to the last input click that entered before it (ms).

    Only within one click period: a later match would pair the click with an
    older one (the tap missed the input, or it came before or after the tap).
    """
    out = []
    for t_out in left:
        earlier = [t for t in entered if t < t_out]
        if earlier and t_out - max(earlier) < CLICK_PERIOD:
            out.append((t_out - max(earlier)) * 1e3)
    return out


def record(case: str, lat: list[float], clicks_sent: int, extra: dict[str, Any]) -> Record:
    return {
        "benchmark": "e2e",
        "kind": "latency",
        "case": case,
        "jitter_ms": 0.0,
        "clicks_sent": clicks_sent,
        "clicks_heard": len(lat),
        "latency_ms_p50": percentile(lat, 50),
        "latency_ms_p99": percentile(lat, 99),
        "latency_ms_min": min(lat) if lat else float("nan"),
        "latency_ms_max": max(lat) if lat else float("nan"),
        **extra,
    }


def chromium(microphone: Path) -> Any:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise Unavailable(f"selenium is not installed: {exc}") from exc
    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver_path is None:
        raise Unavailable("chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver_path), options=options)


def open_page(driver: Any, link: str, name: str, mode: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(link)
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "connect").click()
    deadline = time.monotonic() + 30
    while "connected as" not in driver.find_element(By.ID, "status").text:
        if time.monotonic() > deadline:
            notice = driver.find_element(By.ID, "notice").text
            raise RuntimeError(f"the page did not connect: {notice}")
        time.sleep(0.05)
    Select(driver.find_element(By.ID, "mode")).select_by_value(mode)


def native_to_browser(port: int, driver: Any, link: str, seconds: float) -> Record:
    open_page(driver, link, "browser-ear", "push_to_talk")  # listens, never transmits
    samples, _ = click_train(seconds)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="web-e2e-quic", daemon=True)
    thread.start()
    stack = contextlib.AsyncExitStack()

    def call(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    try:
        talker, _ = call(join(port, "native-mouth", stack, None))
        time.sleep(0.5)
        source = TimedSource(samples)

        def send_now(packet: bytes, sequence: int, copies: tuple[bytes, ...]) -> None:
            # The browser page plays the previous frame's copy; older ones go along too.
            data = encode_voice(VoiceFrame(0, 0, sequence, packet,
                                           redundant_opus=copies[0] if copies else b"",
                                           older_redundant_opus=copies[1:]))
            talker._quic.send_datagram_frame(data)
            talker.transmit()

        def end_now(sequence: int) -> None:
            data = encode_voice(VoiceFrame(0, 0, sequence, b"", end_of_transmission=True))
            talker._quic.send_datagram_frame(data)
            talker.transmit()

        def hand_over(packet: bytes, sequence: int, copies: tuple[bytes, ...]) -> None:
            loop.call_soon_threadsafe(send_now, packet, sequence, copies)

        def hand_over_end(sequence: int) -> None:
            loop.call_soon_threadsafe(end_now, sequence)

        capture = CaptureEngine(
            device=source, mode=TransmissionMode.CONTINUOUS,
            send_voice=hand_over, send_end=hand_over_end,
        )
        driver.execute_script("window.voip.audio.startTap()")
        capture.start()
        deadline = time.monotonic() + seconds + 30
        while not source.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        capture.stop()
        played, ends = take_tap(driver, "takeTap")
    finally:
        with contextlib.suppress(Exception):
            call(stack.aclose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
    offset = wall_offset()
    entered = []
    for i in detect_onsets(samples):
        frame, within = divmod(i, FRAME_SAMPLES)
        if frame < len(source.times):
            entered.append(source.times[frame] + offset - (FRAME_SAMPLES - within) / SAMPLE_RATE)
    left = [t for t in (tap_time(ends, i) for i in detect_onsets(played)) if t is not None]
    return record("native -> browser", latencies(entered, left), len(entered),
                  {"packets_sent": capture.packets_sent})


def browser_to_native(port: int, driver: Any, link: str, seconds: float) -> Record:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="web-e2e-quic", daemon=True)
    thread.start()
    stack = contextlib.AsyncExitStack()

    def call(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    sink = TimedSink()
    playback = PlaybackEngine(device=sink)
    try:
        listener, _ = call(join(port, "native-ear", stack, None, Listener))
        assert isinstance(listener, Listener)
        listener.playback = playback
        playback.start()
        open_page(driver, link, "browser-mouth", "continuous")
        driver.execute_script("window.voip.audio.startCaptureTap()")
        time.sleep(seconds)
        captured, ends = take_tap(driver, "takeCaptureTap")
        time.sleep(0.5)
        playback.stop()
        stats = next(iter(p.stats for p in playback.user_playback().values()), None)
    finally:
        with contextlib.suppress(Exception):
            call(stack.aclose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
    offset = wall_offset()
    entered = [t for t in (tap_time(ends, i) for i in detect_onsets(captured)) if t is not None]
    output = sink.inner.samples()
    left = []
    for i in detect_onsets(output):
        frame, within = divmod(i, FRAME_SAMPLES)
        if frame < len(sink.times):
            left.append(sink.times[frame] + offset + within / SAMPLE_RATE)
    return record(
        "browser -> native", latencies(entered, left), len(entered),
        {
            "buffer_target_frames": stats.target_frames if stats else None,
            "late": stats.late if stats else None,
            "concealed": (stats.redundant_recovered + stats.fec_recovered + stats.plc)
            if stats else None,
        },
    )


def run(seconds: float) -> list[Record]:
    with tempfile.TemporaryDirectory(prefix="voip-bench-web-e2e-") as tmp:
        microphone = Path(tmp) / "clicks.wav"
        # Chromium loops the file: 4 s of clicks, repeated.
        write_audio(microphone, click_train(4.0)[0])
        with ServerProcess(Path(tmp) / "server", ["--web-listen", "127.0.0.1:0"]) as server:
            deadline = time.monotonic() + 10
            link = None
            while link is None and time.monotonic() < deadline:
                link = next((m.group(1) for m in map(LINK.search, server.lines) if m), None)
                time.sleep(0.05)
            if link is None:
                raise Unavailable("the server printed no join link (is it open to browsers?)")
            records = []
            for case in (native_to_browser, browser_to_native):
                driver = chromium(microphone)
                try:
                    records.append(case(server.port, driver, link, seconds))
                finally:
                    driver.quit()
            return records
