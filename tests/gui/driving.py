"""Driving a live Dear PyGui window from a test: what a click or a key press would call.

Each helper looks the callback up on the real item (or the real handler
bound to it) and calls it with the arguments Dear PyGui passes, so the
code under test runs exactly as for a user. `xdotool` helpers send real X
input when that tool is installed.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg
import numpy as np


def _call(callback: Callable[..., Any], sender: Any, app_data: Any, user_data: Any) -> None:
    try:
        params = [
            p
            for p in inspect.signature(callback).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        count = len(params)
    except (TypeError, ValueError):
        count = 3
    callback(*(sender, app_data, user_data)[:count])


def click(item: int | str) -> None:
    """A button/selectable/menu item click: its callback with (item, None, user_data)."""
    assert dpg.is_item_enabled(item), f"{dpg.get_item_label(item)!r} is disabled"
    callback = dpg.get_item_callback(item)
    assert callback is not None, f"{item} has no callback"
    value = None
    if dpg.get_item_type(item).endswith("mvSelectable"):
        value = True
        dpg.set_value(item, True)
    _call(callback, item, value, dpg.get_item_user_data(item))


def enter(item: int | str, value: Any) -> None:
    """Type `value` into an input (or move a slider, pick a combo/radio entry) and commit."""
    dpg.set_value(item, value)
    callback = dpg.get_item_callback(item)
    if callback is not None:
        _call(callback, item, value, dpg.get_item_user_data(item))


def _handlers_of(registry: int | str) -> list[int | str]:
    children = dpg.get_item_children(registry)
    out: list[int | str] = []
    if isinstance(children, dict):
        for slot in children.values():
            out.extend(slot)
    return out


def fire_item_handler(item: int | str, kind: str, button: int) -> None:
    """Fire the item handler of type `kind` (e.g. "mvDoubleClickedHandler") bound to `item`."""
    registry = dpg.get_item_info(item)["handlers"]
    assert registry, f"no item handlers bound to {item}"
    for handler in _handlers_of(registry):
        if dpg.get_item_type(handler).endswith(kind):
            if dpg.get_item_configuration(handler).get("button", -1) not in (-1, button):
                continue
            _call(dpg.get_item_callback(handler), handler, (button, item), None)
            return
    raise AssertionError(f"no {kind} for button {button} bound to {item}")


def _global_key_handlers(kind: str) -> list[int | str]:
    found = []
    for registry in dpg.get_all_items():
        if dpg.get_item_type(registry).endswith("mvHandlerRegistry"):
            found += [h for h in _handlers_of(registry) if dpg.get_item_type(h).endswith(kind)]
    return found


def key_press(code: int, repeats: int = 1) -> None:
    """What the key press handlers see when a key goes down (and auto-repeats)."""
    for _ in range(repeats):
        for handler in _global_key_handlers("mvKeyPressHandler"):
            _call(dpg.get_item_callback(handler), handler, code, None)


def key_release(code: int) -> None:
    for handler in _global_key_handlers("mvKeyReleaseHandler"):
        _call(dpg.get_item_callback(handler), handler, code, None)


def frame_pixels(render: Callable[[], None], timeout: float = 10.0) -> np.ndarray:
    """The current frame as a (height, width, 4) uint8 array (Dear PyGui's frame buffer)."""
    got: list[Any] = []
    done = threading.Event()

    def receive(sender: Any, app_data: Any) -> None:
        got.append(app_data)
        done.set()

    dpg.output_frame_buffer(callback=receive)
    deadline = time.monotonic() + timeout
    while not done.is_set():
        assert time.monotonic() < deadline, "no frame buffer delivered"
        render()
    buffer = got[0]
    width, height = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
    pixels = np.asarray(buffer, dtype=np.float32)
    if pixels.size != width * height * 4:
        side = int(pixels.size // 4)
        height = side // width
    return (pixels[: width * height * 4].reshape(height, width, 4) * 255).astype(np.uint8)


def distinct_colours(pixels: np.ndarray) -> int:
    rgb = pixels[:, :, :3].reshape(-1, 3).astype(np.uint32)
    return int(np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2]).size)


def assert_screenshot(path: Path, pixels: np.ndarray, min_colours: int = 40) -> None:
    """The PNG exists and the frame it shows is not blank (many distinct colours)."""
    assert path.exists() and path.stat().st_size > 5000, f"{path} missing or tiny"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    colours = distinct_colours(pixels)
    assert colours >= min_colours, f"{path.name}: only {colours} colours, looks blank"


# --- real X input --------------------------------------------------------------------------


def have_xdotool() -> bool:
    return shutil.which("xdotool") is not None


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=10)
