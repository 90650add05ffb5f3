"""Locale-dependent presentation of statements: amounts, dates, paper size."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from reportlab.lib.pagesizes import A4, LETTER

DEFAULT_LOCALE: Final = "en"

# Territories whose usual office paper is US Letter; every other one gets A4.
LETTER_TERRITORIES: Final = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "CR", "GT", "PA", "PR", "SV", "NI", "VE", "BZ"})


def parse_locale(identifier: str | None) -> Locale:
    """Parse "en_US", "en-US" or "de"; an unknown or missing identifier falls back to English."""
    if not identifier:
        return Locale.parse(DEFAULT_LOCALE)
    try:
        return Locale.parse(identifier.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def page_size_for(locale: Locale) -> tuple[float, float]:
    """Return US Letter for locales of Letter territories, A4 for all others.

    A locale without a territory ("es") gets its likely one from CLDR's likely
    subtags ("es" -> "es_Latn_ES"), so plain "en" maps to US Letter.
    """
    territory = locale.territory
    if territory is None:
        likely = get_global("likely_subtags").get(locale.language, "")
        territory = likely.split("_")[-1]
    return LETTER if territory in LETTER_TERRITORIES else A4


def money(amount: Decimal | str | None, currency: str, locale: Locale) -> str:
    """Format an amount in the locale's currency pattern, such as "1.234,50 €" for de_DE."""
    if amount is None or amount == "":
        return ""
    return format_currency(Decimal(amount), currency, locale=locale)


def date_text(value: dt.date | str | None, locale: Locale) -> str:
    if value is None or value == "":
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format="medium", locale=locale)


def datetime_text(value: dt.datetime, time_zone: str, locale: Locale) -> str:
    """Format an aware datetime in the user's zone, followed by the zone's name."""
    local = format_datetime(value, format="medium", tzinfo=ZoneInfo(time_zone), locale=locale)
    return f"{local} ({time_zone})"
