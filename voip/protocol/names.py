"""Room and display names: one normal form and one rule, shared by both sides.

A name is compared, stored and hashed in Unicode NFC, so two spellings of
"é" are one name. What cannot be seen cannot be a name's part: control
characters (C0, DEL, C1 such as CSI), format characters (bidi overrides and
isolates, zero-width spaces and joiners, the byte-order mark, soft hyphen,
tags), separators other than the plain space, private-use, surrogate and
unassigned code points, and a few letters that render as nothing (Hangul
fillers, the braille blank). The rule is written out in docs/PROTOCOL.md.
"""

from __future__ import annotations

import unicodedata

#: Longest name, in code points of its NFC form.
MAX_NAME_LENGTH = 64

#: General categories refused anywhere in a name (Cc controls, Cf format,
#: Cs surrogates, Co private use, Cn unassigned, Zl/Zp line/paragraph separators).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
#: Characters of other categories that show nothing.
_INVISIBLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0}
)


def normalize_name(name: str) -> str:
    """The NFC form a name is kept in."""
    return unicodedata.normalize("NFC", name)


def refused_character(ch: str) -> bool:
    """True if `ch` may not appear in a name."""
    category = unicodedata.category(ch)
    if category in _REFUSED_CATEGORIES or ord(ch) in _INVISIBLE:
        return True
    return category == "Zs" and ch != " "


def name_problem(name: str) -> str | None:
    """Why a room or display name is unacceptable (after NFC), or None if it is fine."""
    name = normalize_name(name)
    if not name or not name.strip():
        return "the name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is longer than {MAX_NAME_LENGTH} characters"
    for ch in name:
        if refused_character(ch):
            return (
                f"the name contains the invisible or control character U+{ord(ch):04X}; "
                "use visible characters and plain spaces"
            )
    if name != name.strip(" "):
        return "the name starts or ends with spaces"
    return None
