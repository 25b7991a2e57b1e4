"""Fixtures for the browser client: a real server, its page, and headless Chromium.

The server is the real thing in-process with browsers enabled (HTTP/3 +
WebTransport on its QUIC port, the short-lived web certificate pinned by
hash) and its page listener on 127.0.0.1 (plain HTTP on loopback, a secure
context for the browser). The browser is Debian's Chromium, headless, driven
by Selenium through chromedriver, with a fake microphone playing a WAV file.
Chromium is heavy on a small machine: one browser per test module, few
tests, every wait on a condition with a deadline.
"""

from __future__ import annotations

import base64
import runpy
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from voip.server.web_frontend import WebFrontend

WAIT = 30.0
PASSWORD = "open sesame"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

backends = SimpleNamespace(
    **runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "backends.py"))
)
e2e = SimpleNamespace(
    **runpy.run_path(str(Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"))
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason="needs chromium and chromium-driver"
)


class WebServer(SimpleNamespace):
    server: Any
    frontend: WebFrontend

    def link(self, room: str = "") -> str:
        return self.frontend.join_link(room)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """A server open to browsers: its page on 127.0.0.1, the web certificate pinned by hash."""
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs.source import CertificateSettings

    data_dir = tmp_path_factory.mktemp("web-server")
    server = start_server(
        ServerOptions(
            data_dir=data_dir,
            certificates=CertificateSettings(hostnames=("localhost", "127.0.0.1")),
            host="127.0.0.1",
            port=0,
            password=PASSWORD,
            web_page=("127.0.0.1", 0),
        )
    )
    assert server.web is not None
    yield WebServer(server=server, frontend=server.web)
    server.stop()


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A speech WAV at 48 kHz (espeak-ng), the fake microphone's input and the bot's."""
    from voip.audio.audiofile import write_audio

    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    samples = e2e.speech_wav(path.with_name("espeak.wav"))
    write_audio(path, samples)
    return path


def chromium(microphone: Path, size: tuple[int, int] = (1280, 800)) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={size[0]},{size[1]}",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(WAIT)
    return driver


@pytest.fixture(scope="module")
def browser(speech: Path) -> Iterator[Any]:
    driver = chromium(speech)
    yield driver
    driver.quit()


def wait_until(
    condition: Callable[[], Any], timeout: float = WAIT, what: str = "", driver: Any = None
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            details = ""
            if driver is not None:
                details = f"; page notice {text_of(driver, 'notice')!r}, console {console(driver)}"
            raise AssertionError(f"timed out waiting for {what or condition}{details}")
        time.sleep(0.05)


def console(driver: Any) -> list[str]:
    return [str(entry.get("message")) for entry in driver.get_log("browser")]


def join(driver: Any, link: str, name: str, password: str = PASSWORD) -> None:
    """Open the link, fill in the form as a user would, press Join."""
    from selenium.webdriver.common.by import By

    driver.get("about:blank")
    driver.get(link)
    field = driver.find_element(By.ID, "name")
    field.clear()
    field.send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "connect").click()


def text_of(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)


def page_playback(driver: Any) -> npt.NDArray[np.float32]:
    """What the page played since the last call (its playout worklet's output)."""
    return page_tap(driver, "takeTap")


def page_capture(driver: Any) -> npt.NDArray[np.float32]:
    """What the page got from its microphone since `startCaptureTap` (what it encoded)."""
    return page_tap(driver, "takeCaptureTap")


def page_tap(driver: Any, which: str) -> npt.NDArray[np.float32]:
    encoded = driver.execute_script(
        """
        const pcm = window.voip.audio[arguments[0]]().pcm;
        const ints = new Int16Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) ints[i] = Math.max(-1, Math.min(1, pcm[i])) * 32767;
        let s = ""; const bytes = new Uint8Array(ints.buffer);
        for (let i = 0; i < bytes.length; i += 0x8000) {
          s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        }
        return btoa(s);
        """,
        which,
    )
    raw = np.frombuffer(base64.b64decode(encoded), dtype="<i2")
    return (raw.astype(np.float32) / 32767.0).astype(np.float32)


class Helpers:
    WAIT = WAIT
    PASSWORD = PASSWORD
    join = staticmethod(join)
    text_of = staticmethod(text_of)
    wait_until = staticmethod(wait_until)
    page_playback = staticmethod(page_playback)
    page_capture = staticmethod(page_capture)
    chromium = staticmethod(chromium)
    connect_native = staticmethod(backends.connect_trusting)


@pytest.fixture
def w() -> type[Helpers]:
    return Helpers
