"""The TrueType fonts that statements embed, registered with reportlab once per process.

The PDF base fonts (Helvetica and friends) cover Latin-1 only, so names such
as "Łódź Bank" or "Сбербанк" and signs such as ₹ ₩ ₺ would print as black
boxes. DejaVu Sans covers Latin, Greek and Cyrillic letters and these
currency signs. reportlab embeds the subset of glyphs a document uses.

NOTE: DejaVu Sans has no CJK ideographs, so Chinese, Japanese and Korean
lender names print as empty boxes, and reportlab does not shape Arabic or
reorder right-to-left text. Shipping a CJK font (Noto Sans CJK is
about 16 MB per weight) would fix that.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

from reportlab.graphics.renderbase import STATE_DEFAULTS
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR: Final = Path(__file__).with_name("fonts")
REGULAR: Final = "DejaVuSans"
BOLD: Final = "DejaVuSans-Bold"

_lock = threading.Lock()
_registered = False


def register_fonts() -> None:
    """Register DejaVu Sans and its bold weight with reportlab; later calls do nothing."""
    global _registered
    with _lock:
        if _registered:
            return
        for name in (REGULAR, BOLD):
            path = FONT_DIR / f"{name}.ttf"
            if not path.is_file():
                raise FileNotFoundError(f"Font file {path} is missing: reinstall the loansyncro package, which ships it.")
            pdfmetrics.registerFont(TTFont(name, str(path)))
        # Lets <b> in Paragraph markup pick the bold file.
        addMapping(REGULAR, 0, 0, REGULAR)
        addMapping(REGULAR, 1, 0, BOLD)
        addMapping(REGULAR, 0, 1, REGULAR)
        addMapping(REGULAR, 1, 1, BOLD)
        # reportlab.graphics sets this font at the start of every drawing, even
        # one whose strings all name their font, so a chart would make the page
        # reference Helvetica, which is not embedded. This changes the default
        # for every drawing of the process.
        STATE_DEFAULTS["fontName"] = REGULAR
        _registered = True
