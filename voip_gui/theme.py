"""Colours, font and the global Dear PyGui theme: the look lives here and nowhere else.

Views ask for a named theme (`Themes.on_air`, `Themes.error_text`...) instead
of building their own, so the palette stays consistent and a test can check
which theme an item wears.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import dearpygui.dearpygui as dpg

from voip_gui.glyphs import Coverage, find_font

log = logging.getLogger(__name__)

Colour = tuple[int, int, int, int]

BACKGROUND: Colour = (24, 26, 31, 255)
PANEL: Colour = (32, 35, 42, 255)
FRAME: Colour = (46, 50, 60, 255)
FRAME_HOVER: Colour = (60, 66, 80, 255)
ACCENT: Colour = (74, 144, 226, 255)
ACCENT_HOVER: Colour = (98, 164, 240, 255)
ACCENT_ACTIVE: Colour = (56, 120, 200, 255)
TEXT: Colour = (225, 228, 235, 255)
TEXT_DIM: Colour = (140, 146, 160, 255)
TALKING: Colour = (90, 220, 120, 255)
ME: Colour = (255, 176, 96, 255)
#: Chat senders: your own name stands out from everyone else's.
MY_NAME: Colour = ME
OTHER_NAME: Colour = (110, 170, 245, 255)
LINK: Colour = (120, 200, 255, 255)
ERROR: Colour = (240, 96, 88, 255)
WARNING: Colour = (240, 196, 80, 255)
OK: Colour = (90, 220, 120, 255)
ON_AIR: Colour = (210, 44, 44, 255)
OFF_AIR: Colour = (58, 62, 72, 255)
CURRENT_ROOM: Colour = (240, 196, 80, 255)
ROLE_BADGE: Colour = (190, 150, 255, 255)

#: Glyphs beyond Latin-1 that the views use; they fall back to ASCII without the font.
TALKING_MARK = "\u25cf"  # ●
SILENT_MARK = "\u25cb"  # ○
ELLIPSIS = "\u2026"

FONT_SIZE = 17


@dataclass(frozen=True, slots=True)
class Glyphs:
    """The marks the views draw; ASCII when no font with these glyphs was found."""

    talking: str = "*"
    silent: str = "o"
    ellipsis: str = "..."


@dataclass(frozen=True, slots=True)
class Themes:
    """Item themes built once per context (`build_themes`), bound by the views.

    `main_window` leaves the panels' backgrounds transparent (the main
    window draws none either) over the viewport's clear colour: with
    software GL every full-size fill costs milliseconds per frame, and the
    clear is free.
    """

    main_window: int | str
    on_air: int | str
    off_air: int | str
    error_text: int | str
    danger_button: int | str
    accent_button: int | str
    link_button: int | str
    glyphs: Glyphs
    coverage: Coverage
    scale: float = 1.0

    def readable(self, text: str) -> str:
        """`text` as the font can draw it (see `glyphs.Coverage`)."""
        return self.coverage.readable(text)

    def px(self, size: float) -> int:
        """A layout size in pixels at this UI scale."""
        return round(size * self.scale)


def _load_font(scale: float) -> tuple[int | str | None, Glyphs, Coverage]:
    path = find_font()
    if path is None:
        log.info("no font with wide coverage found; using Dear PyGui's built-in font")
        return None, Glyphs(), Coverage(None)
    # Dear PyGui 2.x loads glyphs on demand: no ranges to declare.
    with dpg.font_registry():
        font = dpg.add_font(str(path), round(FONT_SIZE * scale))
    coverage = Coverage(path)
    marks = (TALKING_MARK, SILENT_MARK, ELLIPSIS)
    if all(coverage.covers(mark) for mark in marks):
        return font, Glyphs(*marks), coverage
    return font, Glyphs(), coverage


def _button_theme(normal: Colour, hover: Colour, active: Colour, text: Colour = TEXT) -> int | str:
    with dpg.theme() as theme, dpg.theme_component(dpg.mvButton):
        dpg.add_theme_color(dpg.mvThemeCol_Button, normal)
        dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, hover)
        dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, active)
        dpg.add_theme_color(dpg.mvThemeCol_Text, text)
    return theme


def build_themes(scale: float = 1.0) -> Themes:
    """Create the global theme, the font and the item themes (call once after create_context).

    `scale` is the UI scale (1.0 at 96 dpi): the font size and every padding,
    spacing and rounding grow with it.
    """
    with dpg.theme() as global_theme, dpg.theme_component(dpg.mvAll):
        colours = {
            dpg.mvThemeCol_WindowBg: BACKGROUND,
            dpg.mvThemeCol_ChildBg: PANEL,
            dpg.mvThemeCol_PopupBg: PANEL,
            dpg.mvThemeCol_Border: (60, 64, 76, 255),
            dpg.mvThemeCol_FrameBg: FRAME,
            dpg.mvThemeCol_FrameBgHovered: FRAME_HOVER,
            dpg.mvThemeCol_FrameBgActive: FRAME_HOVER,
            dpg.mvThemeCol_TitleBg: PANEL,
            dpg.mvThemeCol_TitleBgActive: (40, 60, 92, 255),
            dpg.mvThemeCol_Button: (52, 72, 104, 255),
            dpg.mvThemeCol_ButtonHovered: ACCENT_HOVER,
            dpg.mvThemeCol_ButtonActive: ACCENT_ACTIVE,
            dpg.mvThemeCol_Header: (52, 72, 104, 255),
            dpg.mvThemeCol_HeaderHovered: (66, 92, 132, 255),
            dpg.mvThemeCol_HeaderActive: ACCENT_ACTIVE,
            dpg.mvThemeCol_CheckMark: ACCENT_HOVER,
            dpg.mvThemeCol_SliderGrab: ACCENT,
            dpg.mvThemeCol_SliderGrabActive: ACCENT_HOVER,
            dpg.mvThemeCol_PlotHistogram: TALKING,
            dpg.mvThemeCol_Text: TEXT,
            dpg.mvThemeCol_TextDisabled: TEXT_DIM,
            dpg.mvThemeCol_Separator: (60, 64, 76, 255),
            dpg.mvThemeCol_ModalWindowDimBg: (0, 0, 0, 140),
        }
        for target, colour in colours.items():
            dpg.add_theme_color(target, colour)
        styles: dict[int, tuple[float, ...]] = {
            dpg.mvStyleVar_WindowRounding: (6,),
            dpg.mvStyleVar_ChildRounding: (6,),
            dpg.mvStyleVar_FrameRounding: (4,),
            dpg.mvStyleVar_PopupRounding: (4,),
            dpg.mvStyleVar_GrabRounding: (4,),
            dpg.mvStyleVar_WindowPadding: (12, 10),
            dpg.mvStyleVar_FramePadding: (8, 5),
            dpg.mvStyleVar_ItemSpacing: (8, 7),
            dpg.mvStyleVar_ChildBorderSize: (0,),
        }
        for var, value in styles.items():
            dpg.add_theme_style(var, *(round(v * scale) for v in value))
        dpg.add_theme_style(dpg.mvStyleVar_WindowTitleAlign, 0.5, 0.5)
    # Disabled items (e.g. Connect while connecting) look disabled.
    with dpg.theme_component(dpg.mvButton, enabled_state=False, parent=global_theme):
        dpg.add_theme_color(dpg.mvThemeCol_Button, FRAME)
        dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, FRAME)
        dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, FRAME)
        dpg.add_theme_color(dpg.mvThemeCol_Text, TEXT_DIM)
    dpg.bind_theme(global_theme)

    font, glyphs, coverage = _load_font(scale)
    if font is not None:
        dpg.bind_font(font)

    with dpg.theme() as error_text, dpg.theme_component(dpg.mvAll):
        dpg.add_theme_color(dpg.mvThemeCol_Text, ERROR)
    with dpg.theme() as main_window, dpg.theme_component(dpg.mvAll):
        dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (0, 0, 0, 0))
        dpg.add_theme_style(dpg.mvStyleVar_ChildBorderSize, 1)
    return Themes(
        main_window=main_window,
        on_air=_button_theme(ON_AIR, ON_AIR, ON_AIR, (255, 255, 255, 255)),
        off_air=_button_theme(OFF_AIR, OFF_AIR, OFF_AIR, TEXT_DIM),
        error_text=error_text,
        danger_button=_button_theme((150, 48, 48, 255), (190, 64, 64, 255), (130, 40, 40, 255)),
        accent_button=_button_theme(ACCENT_ACTIVE, ACCENT_HOVER, ACCENT),
        link_button=_button_theme((0, 0, 0, 0), FRAME_HOVER, FRAME, LINK),
        glyphs=glyphs,
        coverage=coverage,
        scale=scale,
    )
