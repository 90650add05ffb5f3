"""JSON export of a user's whole history: the statement data with a format name and version.

The shape is documented in docs/exports.md. Amounts are strings in plain
decimal form, dates are ISO 8601, so a reader loses no precision.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Final

FORMAT_NAME: Final = "loansyncro.history"


def history_json(statement: Mapping[str, Any], generated_at: dt.datetime) -> bytes:
    """Render the statement data as UTF-8 JSON; `generated_at` must be timezone-aware."""
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware, such as datetime.now(UTC).")
    document = {
        "format": FORMAT_NAME,
        "format_version": statement["format_version"],
        "generated_at": generated_at.isoformat(),
        **{key: value for key, value in statement.items() if key != "format_version"},
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
