"""Day-count conventions: the fraction of a year between two dates.

Year fractions are kept as exact integer ratios ``(numerator, denominator)`` so
that interest is one multiplication and one division before rounding.

30/360 counts days with the 30E/360 rule (day 31 counts as day 30). Within a
loan, a regular period is exactly ``1 / periods_per_year`` of a year, so a
monthly period is rate/12 whatever the month. A part of a period gets the share
of that period in 30E/360 days, so the parts of a period always add up to the
whole period.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Final

from loansyncro.money import DEFAULT_ROUNDING, MONEY_CONTEXT, ROUNDING_MODES, in_money_context, minor_unit
from loansyncro.schedule.errors import LoanValidationError

# A year fraction as an exact ratio of two integers.
Ratio = tuple[int, int]

_LEAP_YEAR_DAYS: Final[int] = 366
_COMMON_YEAR_DAYS: Final[int] = 365
_BOTH_YEAR_LENGTHS: Final[int] = _LEAP_YEAR_DAYS * _COMMON_YEAR_DAYS
_ZERO: Final[Decimal] = Decimal(0)


class DayCount(StrEnum):
    """Day-count convention that turns a date range into a fraction of a year."""

    THIRTY_360 = "30/360"
    ACTUAL_365 = "actual/365"
    ACTUAL_360 = "actual/360"
    ACTUAL_ACTUAL = "actual/actual"


def _days_30e_360(day: date) -> int:
    """Return a serial day number under 30E/360, so that differences count 30E/360 days."""
    return day.year * 360 + (day.month - 1) * 30 + min(day.day, 30)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _actual_actual(start: date, end: date) -> Ratio:
    """Split the range at each January 1 and weight each piece by its year's length."""
    numerator = 0
    piece_start = start
    while piece_start < end:
        year_end = date(piece_start.year + 1, 1, 1)
        piece_end = min(end, year_end)
        days = (piece_end - piece_start).days
        year_days = _LEAP_YEAR_DAYS if _is_leap(piece_start.year) else _COMMON_YEAR_DAYS
        numerator += days * (_BOTH_YEAR_LENGTHS // year_days)
        piece_start = piece_end
    return numerator, _BOTH_YEAR_LENGTHS


def _plain_ratio(day_count: DayCount, start: date, end: date) -> Ratio:
    if day_count is DayCount.THIRTY_360:
        return _days_30e_360(end) - _days_30e_360(start), 360
    if day_count is DayCount.ACTUAL_365:
        return (end - start).days, _COMMON_YEAR_DAYS
    if day_count is DayCount.ACTUAL_360:
        return (end - start).days, 360
    return _actual_actual(start, end)


def year_fraction(day_count: DayCount, start: date, end: date) -> Fraction:
    """Return the exact fraction of a year from ``start`` to ``end`` under ``day_count``.

    This is the plain convention without a loan's periods: 30/360 counts
    30E/360 days over 360.
    """
    numerator, denominator = _plain_ratio(DayCount(day_count), start, end)
    return Fraction(numerator, denominator)


def span_ratio(
    day_count: DayCount,
    start: date,
    end: date,
    period_start: date,
    period_end: date,
    periods_per_year: int,
    regular: bool,
) -> Ratio:
    """Return the year fraction of ``start``..``end``, a range inside one loan period.

    Under 30/360 a regular period counts as exactly ``1 / periods_per_year`` and
    a range inside it gets its share in 30E/360 days. An irregular period, such
    as a first period that ends on a chosen first payment date, counts its
    30E/360 days over 360. The actual conventions ignore the period.
    """
    if day_count is not DayCount.THIRTY_360:
        return _plain_ratio(day_count, start, end)
    if not regular:
        return _days_30e_360(end) - _days_30e_360(start), 360
    if start == period_start and end == period_end:
        return 1, periods_per_year
    period_days = _days_30e_360(period_end) - _days_30e_360(period_start)
    if period_days > 0:
        return _days_30e_360(end) - _days_30e_360(start), periods_per_year * period_days
    # A 30E/360 period of zero days (such as the 30th to the 31st) shares by actual days.
    return (end - start).days, periods_per_year * (period_end - period_start).days


def interest_for(balance: Decimal, annual_rate_percent: Decimal, ratio: Ratio, currency: str, rounding: str) -> Decimal:
    """Return the interest on ``balance`` for the year fraction ``ratio``, rounded to the minor unit.

    ``rounding`` must be one of the decimal module's rounding modes. LoanTerms
    has validated it, so this hot path does not check it again.
    """
    numerator, denominator = ratio
    quantum = minor_unit(currency)
    if numerator == 0 or balance.is_zero() or annual_rate_percent.is_zero():
        return _ZERO.quantize(quantum)
    context = MONEY_CONTEXT
    # Divide last, so an exact half of a minor unit stays exact and the rounding mode decides it.
    exact = context.divide(
        context.multiply(context.multiply(balance, annual_rate_percent), Decimal(numerator)),
        Decimal(100 * denominator),
    )
    return exact.quantize(quantum, rounding=rounding, context=context)


@in_money_context
def interest_between(
    balance: Decimal,
    annual_rate: Decimal,
    start: date,
    end: date,
    day_count: DayCount | str,
    currency: str,
    rounding: str = DEFAULT_ROUNDING,
) -> Decimal:
    """Return the interest on ``balance`` from ``start`` to ``end``, rounded once to the minor unit.

    ``annual_rate`` is in percent. 30/360 counts 30E/360 days over 360 here,
    because a lone date range has no loan periods.
    """
    try:
        convention = DayCount(day_count)
    except ValueError as err:
        choices = ", ".join(f"'{member.value}'" for member in DayCount)
        raise LoanValidationError(
            "day_count", day_count, f"day_count {day_count!r} is not supported; use one of {choices}"
        ) from err
    if rounding not in ROUNDING_MODES:
        raise LoanValidationError(
            "rounding", rounding, f"rounding {rounding!r} is not a decimal rounding mode; use ROUND_HALF_UP"
        )
    if end < start:
        raise LoanValidationError(
            "end", end, f"end {end.isoformat()} is before start {start.isoformat()}; swap the dates"
        )
    fraction = year_fraction(convention, start, end)
    return interest_for(balance, annual_rate, (fraction.numerator, fraction.denominator), currency, rounding)
