"""Calendar dates typed by users."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

# Python's date.fromisoformat also takes "20240301" and "2024-W10-1"; the
# API promises YYYY-MM-DD and nothing else.
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_iso_date(text: str) -> dt.date:
    """Parse a date written exactly as YYYY-MM-DD; raise ValueError otherwise."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not written as YYYY-MM-DD")
    return dt.date.fromisoformat(text)
