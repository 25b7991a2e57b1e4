"""When the window draws a frame: on a new snapshot, on input, for running animations only.

Dear PyGui's own loop draws 60 frames a second forever; with software GL
(Mesa llvmpipe, a virtual screen, a laptop without a GPU driver) that is a
whole core for a window where nothing moves. Here the render loop asks a
`FramePacer` when the next frame is due and sleeps inside GLFW until then
(`glfwWaitEventsTimeout`), so it wakes at once for X input, and for a new
snapshot because the subscriber posts an empty GLFW event.

The pacer is clock-free (callers pass `now`), so its rules are tested
without a window:

- a new snapshot: one frame at once (talking lights follow within a frame);
  snapshots that only move the microphone level are drawn at most
  `LEVEL_PERIOD` apart;
- input (any wake that was neither a snapshot nor a timer): a few frames,
  because Dear ImGui spreads a press and its release over frames and
  settles hover and layout a frame later, then one more `LATE_FRAME` after
  (double-click timeouts, tooltips);
- animations: a view asks for a frame at a time (`request_at`), e.g. the
  text cursor's blink while a field has the keyboard, or a countdown;
- never more than `MAX_FPS` frames a second.
"""

from __future__ import annotations

import ctypes
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_FPS = 60.0
INPUT_FRAMES = 3
LATE_FRAME = 0.6
LEVEL_PERIOD = 0.25
#: The longest sleep without a reason to wake (a safety net, nothing is drawn then).
IDLE_WAIT = 1.0


@dataclass(slots=True)
class FramePacer:
    """Counts the frames owed and the times frames were asked for; says when the next is due.

    Requests are named slots (`request_at(when, slot)`): asking again for the
    same slot moves it, so "one frame after the last key press" or "the next
    cursor blink" never pile up into a frame per key.
    """

    min_interval: float = 1.0 / MAX_FPS
    owed: int = 1  # the first frame
    last_frame: float = -math.inf
    last_level_frame: float = -math.inf
    requested: dict[str, float] = field(default_factory=dict)
    #: Why frames were drawn (snapshot, level, input, or a slot name): diagnostics.
    reasons: Counter[str] = field(default_factory=Counter)
    _reason: str = "start"

    def snapshot(self, now: float, level_only: bool = False) -> None:
        """A new snapshot arrived; `level_only` if nothing but the input level changed."""
        if level_only:
            self.request_at(max(now, self.last_level_frame + LEVEL_PERIOD), "level")
            return
        if self.owed == 0:
            self._reason = "snapshot"
        self.owed = max(self.owed, 1)

    def input(self, now: float, frames: int = INPUT_FRAMES) -> None:
        """Input arrived that needs `frames` frames to be processed and shown."""
        if self.owed == 0:
            self._reason = "input"
        self.owed = max(self.owed, frames)
        self.request_at(now + LATE_FRAME, "late")

    def request_at(self, when: float, slot: str) -> None:
        """Draw a frame at `when` (monotonic seconds); replaces the slot's earlier request."""
        self.requested[slot] = when

    def due_in(self, now: float) -> float | None:
        """Seconds until the next frame is due (0: now), None when nothing is asked for."""
        earliest = self.last_frame + self.min_interval
        if self.owed > 0:
            return max(0.0, earliest - now)
        if not self.requested:
            return None
        return max(0.0, min(self.requested.values()) - now, earliest - now)

    def rendered(self, now: float, showed_level: bool = True) -> None:
        if self.owed > 0:
            self.reasons[self._reason] += 1
        else:
            due = [slot for slot, when in self.requested.items() if when <= now]
            self.reasons[due[0] if due else "other"] += 1
        self._reason = "input" if self.owed > 1 else self._reason
        self.last_frame = now
        if showed_level:
            self.last_level_frame = now
        self.owed = max(0, self.owed - 1)
        self.requested = {slot: when for slot, when in self.requested.items() if when > now}


# --- GLFW, inside Dear PyGui's extension module -------------------------------------------

GLFW_FOCUSED = 0x00020001
GLFW_ICONIFIED = 0x00020002
GLFW_VISIBLE = 0x00020004

_WINDOW = ctypes.c_void_p
#: GLFW callback setter -> the C signature of its callback (after the window argument).
_INPUT_CALLBACKS: dict[str, tuple[Any, ...]] = {
    "glfwSetKeyCallback": (ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int),
    "glfwSetCharCallback": (ctypes.c_uint,),
    "glfwSetMouseButtonCallback": (ctypes.c_int, ctypes.c_int, ctypes.c_int),
    "glfwSetScrollCallback": (ctypes.c_double, ctypes.c_double),
    "glfwSetCursorPosCallback": (ctypes.c_double, ctypes.c_double),
    "glfwSetCursorEnterCallback": (ctypes.c_int,),
    "glfwSetWindowFocusCallback": (ctypes.c_int,),
    "glfwSetWindowSizeCallback": (ctypes.c_int, ctypes.c_int),
    "glfwSetWindowRefreshCallback": (),
    "glfwSetWindowIconifyCallback": (ctypes.c_int,),
}


class Glfw:
    """The few GLFW calls Dear PyGui does not expose, from the GLFW it links statically.

    `post_empty_event` is the only one safe from any thread; it is a no-op
    unless the window exists (`attach` ... `detach`), because GLFW must not
    be called before it is initialised or after it is terminated.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: int | None = None
        self._lib: ctypes.CDLL | None = None
        try:
            from dearpygui import _dearpygui

            lib = ctypes.CDLL(_dearpygui.__file__)
            lib.glfwPostEmptyEvent.restype = None
            lib.glfwWaitEventsTimeout.argtypes = [ctypes.c_double]
            lib.glfwWaitEventsTimeout.restype = None
            lib.glfwGetCurrentContext.restype = ctypes.c_void_p
            lib.glfwGetWindowAttrib.argtypes = [ctypes.c_void_p, ctypes.c_int]
            lib.glfwGetWindowAttrib.restype = ctypes.c_int
            lib.glfwGetWindowContentScale.argtypes = [
                ctypes.c_void_p,
                ctypes.POINTER(ctypes.c_float),
                ctypes.POINTER(ctypes.c_float),
            ]
            lib.glfwGetWindowContentScale.restype = None
            self._lib = lib
        except (ImportError, OSError, AttributeError) as exc:
            log.warning("GLFW calls unavailable (%s); the window redraws on a timer", exc)

    @property
    def available(self) -> bool:
        return self._lib is not None

    def attach(self) -> None:
        """After `show_viewport` (main thread): the window whose GL context is current."""
        if self._lib is None:
            return
        with self._lock:
            self._window = self._lib.glfwGetCurrentContext() or None

    def detach(self) -> None:
        with self._lock:
            self._window = None

    def hook_input(self, on_input: Callable[[str], None]) -> bool:
        """Call `on_input(kind)` for every input or window event GLFW delivers (main thread).

        `kind` is the setter's event name (``Key``, ``MouseButton``, ``CursorPos``...).

        Each callback Dear PyGui (Dear ImGui's GLFW backend) installed is
        chained, so the window behaves as before; this is how the render loop
        tells a wake for input from a wake for a snapshot.
        """
        if self._lib is None or self._window is None:
            return False
        window = ctypes.c_void_p(self._window)
        self._hooks: list[Any] = []
        for setter_name, args in _INPUT_CALLBACKS.items():
            kind = ctypes.CFUNCTYPE(None, _WINDOW, *args)
            setter = getattr(self._lib, setter_name)
            setter.argtypes = [_WINDOW, kind]
            setter.restype = ctypes.c_void_p
            holder: list[Any] = [None]

            event = setter_name.removeprefix("glfwSet").removesuffix("Callback")

            def hook(
                win: Any, *values: Any, _holder: list[Any] = holder, _kind: str = event
            ) -> None:
                previous = _holder[0]
                if previous is not None:
                    previous(win, *values)
                on_input(_kind)

            callback = kind(hook)
            previous = setter(window, callback)
            holder[0] = kind(previous) if previous else None
            self._hooks.append((callback, holder))
        return True

    def hook_drop(self, on_drop: Callable[[list[str]], None]) -> bool:
        """Call `on_drop(paths)` when files are dropped on the window (main thread)."""
        if self._lib is None or self._window is None:
            return False
        kind = ctypes.CFUNCTYPE(None, _WINDOW, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p))
        setter = self._lib.glfwSetDropCallback
        setter.argtypes = [_WINDOW, kind]
        setter.restype = ctypes.c_void_p

        def dropped(win: Any, count: int, paths: Any) -> None:
            on_drop([paths[i].decode(errors="replace") for i in range(count)])

        self._drop_hook = kind(dropped)  # kept alive as long as the window
        setter(ctypes.c_void_p(self._window), self._drop_hook)
        return True

    def post_empty_event(self) -> None:
        """Wake `wait` (any thread)."""
        with self._lock:
            if self._lib is not None and self._window is not None:
                self._lib.glfwPostEmptyEvent()

    def wait(self, seconds: float) -> None:
        """Process window events, sleeping up to `seconds` until one arrives (main thread)."""
        if self._lib is None or self._window is None:
            threading.Event().wait(seconds)
            return
        self._lib.glfwWaitEventsTimeout(max(0.0, seconds))

    def is_shown(self) -> bool:
        """False while the window is minimised or unmapped (nothing drawn would be seen)."""
        if self._lib is None or self._window is None:
            return True
        window = ctypes.c_void_p(self._window)
        visible = self._lib.glfwGetWindowAttrib(window, GLFW_VISIBLE)
        iconified = self._lib.glfwGetWindowAttrib(window, GLFW_ICONIFIED)
        return bool(visible) and not iconified

    def is_focused(self) -> bool:
        """Whether the window has the keyboard focus (main thread)."""
        if self._lib is None or self._window is None:
            return True
        return bool(self._lib.glfwGetWindowAttrib(ctypes.c_void_p(self._window), GLFW_FOCUSED))

    def content_scale(self) -> float:
        """The screen's scale for this window (Xft.dpi / 96 on X11), 1.0 if unknown."""
        if self._lib is None or self._window is None:
            return 1.0
        x, y = ctypes.c_float(1.0), ctypes.c_float(1.0)
        self._lib.glfwGetWindowContentScale(
            ctypes.c_void_p(self._window), ctypes.byref(x), ctypes.byref(y)
        )
        scale = float(max(x.value, y.value))
        return scale if math.isfinite(scale) and 0.5 <= scale <= 4.0 else 1.0
