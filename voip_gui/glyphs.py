"""What the window's font can draw, and a readable stand-in for the characters it cannot.

Dear PyGui draws one font per item and cannot merge a fallback font in, so
the window uses one font that covers Latin, Greek, Cyrillic and CJK
(WenQuanYi Micro Hei, Debian's ``fonts-wqy-microhei``; DejaVu Sans when it
is missing). What the font still lacks, mostly emoji, would be drawn as
"?"; instead it is written out by its Unicode name, ``:grinning face:``,
the way chat programs spell emoji in text. Joiners, variation selectors
and skin-tone modifiers, which only shape the emoji before them, are
dropped.
"""

from __future__ import annotations

import logging
import unicodedata
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

#: Fonts in order of preference: the first that exists is the window's font.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)

_SHAPING = {0x200D, 0xFE0E, 0xFE0F, 0x20E3}  # ZWJ, text/emoji presentation, keycap


def find_font() -> Path | None:
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=4)
def _codepoints(path: str) -> frozenset[int]:
    try:
        from fontTools.ttLib import TTCollection, TTFont

        if path.lower().endswith((".ttc", ".otc")):
            font = TTCollection(path).fonts[0]
        else:
            font = TTFont(path, lazy=True)
        cmap = font.getBestCmap() or {}
        return frozenset(cmap)
    except Exception as exc:  # a broken font file must not stop the window
        log.warning("cannot read the character map of %s: %s", path, exc)
        return frozenset()


class Coverage:
    """The characters one font draws; `readable` rewrites a text to use only those."""

    def __init__(self, font: Path | None) -> None:
        self.font = font
        self._covered = _codepoints(str(font)) if font is not None else frozenset()

    def covers(self, char: str) -> bool:
        code = ord(char)
        if code < 0x80:
            return True  # every font (and Dear PyGui's built-in one) has ASCII
        return code in self._covered

    def readable(self, text: str) -> str:
        """`text` with every character the font lacks spelled out by name."""
        if text.isascii():
            return text
        out: list[str] = []
        for char in text:
            if self.covers(char) or char.isspace():
                out.append(char)
                continue
            code = ord(char)
            if code in _SHAPING or 0x1F3FB <= code <= 0x1F3FF:
                continue
            name = unicodedata.name(char, "")
            out.append(f":{name.lower()}:" if name else f"U+{code:04X}")
        return "".join(out)
