"""The TrueType fonts that statements embed, registered with reportlab once per process.

The PDF base fonts (Helvetica and friends) cover Latin-1 only, so names such
as "Łódź Bank" or "Сбербанк" and signs such as ₹ ₩ ₺ would print as black
boxes. DejaVu Sans covers Latin, Greek and Cyrillic letters and these
currency signs. reportlab embeds the subset of glyphs a document uses.

DejaVu Sans has no CJK ideographs, kana or Hangul, so `paragraph_markup`
sets runs of characters that DejaVu Sans lacks in WenQuanYi Micro Hei, which
covers Han, kana and Hangul. Micro Hei has one weight, so CJK text in bold
headings prints in the regular weight.

Plain strings (table cells, the page footer) are drawn in one font each, so
`plain_text_font` picks the CJK font for a whole string that needs it.

NOTE: a plain string that mixes CJK with a sign only DejaVu Sans has (₩ ₹ ₺)
stays in DejaVu Sans, so its CJK characters print as empty boxes. Chart labels always use DejaVu
Sans. reportlab does not shape Arabic or reorder right-to-left text.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape

from reportlab.graphics.renderbase import STATE_DEFAULTS
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR: Final = Path(__file__).with_name("fonts")
REGULAR: Final = "DejaVuSans"
BOLD: Final = "DejaVuSans-Bold"
CJK: Final = "WenQuanYiMicroHei"
# Index 0 of the collection is the proportional face, index 1 the monospaced one.
CJK_FILE: Final = "wqy-microhei.ttc"
CJK_SUBFONT_INDEX: Final = 0

_lock = threading.Lock()
_registered = False
_regular_characters: frozenset[int] = frozenset()
_cjk_characters: frozenset[int] = frozenset()


def register_fonts() -> None:
    """Register DejaVu Sans, its bold weight and WenQuanYi Micro Hei with reportlab; later calls do nothing."""
    global _registered, _regular_characters, _cjk_characters
    with _lock:
        if _registered:
            return
        regular = _load_font(REGULAR, f"{REGULAR}.ttf")
        pdfmetrics.registerFont(regular)
        pdfmetrics.registerFont(_load_font(BOLD, f"{BOLD}.ttf"))
        cjk = _load_font(CJK, CJK_FILE, subfont_index=CJK_SUBFONT_INDEX)
        pdfmetrics.registerFont(cjk)
        _regular_characters = frozenset(regular.face.charToGlyph)
        _cjk_characters = frozenset(cjk.face.charToGlyph)
        # Lets <b> in Paragraph markup pick the bold file.
        addMapping(REGULAR, 0, 0, REGULAR)
        addMapping(REGULAR, 1, 0, BOLD)
        addMapping(REGULAR, 0, 1, REGULAR)
        addMapping(REGULAR, 1, 1, BOLD)
        # The CJK font has no bold or italic file, so <b> inside a CJK run,
        # or a CJK run in a bold style, keeps the regular weight.
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(CJK, bold, italic, CJK)
        # reportlab.graphics sets this font at the start of every drawing, even
        # one whose strings all name their font, so a chart would make the page
        # reference Helvetica, which is not embedded. This changes the default
        # for every drawing of the process.
        STATE_DEFAULTS["fontName"] = REGULAR
        _registered = True


def paragraph_markup(text: str) -> str:
    """Escape text for reportlab Paragraph markup and set the characters DejaVu Sans lacks in the CJK font.

    A character goes into a `<font name="WenQuanYiMicroHei">` run when DejaVu
    Sans has no glyph for it and the CJK font has one. A character neither font
    has stays in DejaVu Sans and prints as an empty box. Call `register_fonts`
    first, because the glyph coverage is read from the registered fonts.
    """
    if not _registered:
        raise RuntimeError("paragraph_markup needs the fonts registered: call register_fonts() first.")
    parts: list[str] = []
    run: list[str] = []
    run_is_cjk = False
    for character in text:
        code_point = ord(character)
        is_cjk = code_point not in _regular_characters and code_point in _cjk_characters
        if run and is_cjk != run_is_cjk:
            parts.append(_run_markup("".join(run), run_is_cjk))
            run = []
        run.append(character)
        run_is_cjk = is_cjk
    if run:
        parts.append(_run_markup("".join(run), run_is_cjk))
    return "".join(parts)


def plain_text_font(text: str, default: str = REGULAR) -> str:
    """Return the font for a plain string, which reportlab draws in a single font.

    That is the CJK font when DejaVu Sans lacks a character of `text` and the
    CJK font has all of them, else `default`. Call `register_fonts` first.
    """
    if not _registered:
        raise RuntimeError("plain_text_font needs the fonts registered: call register_fonts() first.")
    code_points = {ord(character) for character in text}
    if code_points <= _regular_characters or not code_points <= _cjk_characters:
        return default
    return CJK


def _run_markup(run: str, is_cjk: bool) -> str:
    if is_cjk:
        return f'<font name="{CJK}">{escape(run)}</font>'
    return escape(run)


def _load_font(name: str, file_name: str, subfont_index: int = 0) -> TTFont:
    path = FONT_DIR / file_name
    if not path.is_file():
        raise FileNotFoundError(f"Font file {path} is missing: reinstall the loansyncro package, which ships it.")
    return TTFont(name, str(path), subfontIndex=subfont_index)
