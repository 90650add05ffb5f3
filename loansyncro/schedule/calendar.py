"""Due dates: payment frequencies, month-end rolling and the user's local "today".

Every due date is computed from the anchor (the first payment date, or the
disbursement date when there is none) by its index, never from the previous due
date. So a loan anchored on January 31 is due on February 28 or 29 and then on
March 31, because clamping February does not shift the later months.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from loansyncro.schedule.errors import LoanValidationError


class Frequency(StrEnum):
    """Interval between two due dates."""

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    SEMI_MONTHLY = "semi_monthly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMI_ANNUAL = "semi_annual"
    ANNUAL = "annual"


PERIODS_PER_YEAR: Final[dict[Frequency, int]] = {
    Frequency.WEEKLY: 52,
    Frequency.BIWEEKLY: 26,
    Frequency.SEMI_MONTHLY: 24,
    Frequency.MONTHLY: 12,
    Frequency.QUARTERLY: 4,
    Frequency.SEMI_ANNUAL: 2,
    Frequency.ANNUAL: 1,
}

_MONTHS_PER_PERIOD: Final[dict[Frequency, int]] = {
    Frequency.MONTHLY: 1,
    Frequency.QUARTERLY: 3,
    Frequency.SEMI_ANNUAL: 6,
    Frequency.ANNUAL: 12,
}

_DAYS_PER_PERIOD: Final[dict[Frequency, int]] = {
    Frequency.WEEKLY: 7,
    Frequency.BIWEEKLY: 14,
}

DEFAULT_SEMI_MONTHLY_DAYS: Final[tuple[int, int]] = (1, 15)

# relativedelta(months=n) for n = 0, 1, 2, ..., shared by every loan because
# building a relativedelta costs about as much as adding it to a date.
_MONTH_OFFSETS: Final[list[relativedelta]] = []
_MONTH_OFFSETS_LOCK: Final[threading.Lock] = threading.Lock()


def _months(count: int) -> relativedelta:
    offsets = _MONTH_OFFSETS
    if len(offsets) <= count:
        with _MONTH_OFFSETS_LOCK:
            while len(offsets) <= count:
                offsets.append(relativedelta(months=len(offsets)))
    return offsets[count]


def _days_in_month(year: int, month: int) -> int:
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return (next_month - timedelta(days=1)).day


def _semi_monthly_slot_date(slot: int, days: tuple[int, int]) -> date:
    """Return the due date of a semi-monthly slot, counted as 2 * month index + half."""
    month_index, half = divmod(slot, 2)
    year, month_zero = divmod(month_index, 12)
    day = min(days[half], _days_in_month(year, month_zero + 1))
    return date(year, month_zero + 1, day)


def _first_semi_monthly_slot_after(day: date, days: tuple[int, int]) -> int:
    slot = (day.year * 12 + day.month - 1) * 2
    while _semi_monthly_slot_date(slot, days) <= day:
        slot += 1
    return slot


def _semi_monthly_slot_of(day: date, days: tuple[int, int]) -> int | None:
    slot = (day.year * 12 + day.month - 1) * 2
    for candidate in (slot, slot + 1):
        if _semi_monthly_slot_date(candidate, days) == day:
            return candidate
    return None


def one_period_after(day: date, frequency: Frequency) -> date:
    """Return the date one regular period after ``day`` (not for semi-monthly)."""
    if frequency in _DAYS_PER_PERIOD:
        return day + timedelta(days=_DAYS_PER_PERIOD[frequency])
    later: date = day + _months(_MONTHS_PER_PERIOD[frequency])
    return later


class DueDateGrid:
    """The due dates of a loan, by installment number starting at 1.

    The grid has no end: the terms and the plans decide which installment is
    the last. ``date_of(0)`` is the disbursement date. Dates are cached because
    the schedule and the repayment state request the same numbers many times.
    """

    __slots__ = ("start", "frequency", "semi_monthly_days", "first_period_is_regular", "_first_slot", "_anchor",
                 "_anchor_index", "_cache", "_lock")

    start: date
    frequency: Frequency
    semi_monthly_days: tuple[int, int]
    first_period_is_regular: bool

    def __init__(
        self,
        start: date,
        frequency: Frequency,
        first_payment: date | None = None,
        semi_monthly_days: tuple[int, int] = DEFAULT_SEMI_MONTHLY_DAYS,
    ) -> None:
        self.start = start
        self.frequency = frequency
        self.semi_monthly_days = semi_monthly_days
        self._cache: list[date] = [start]
        self._lock = threading.Lock()
        self._first_slot = 0
        self._anchor = start
        self._anchor_index = 0

        if frequency is Frequency.SEMI_MONTHLY:
            if first_payment is None:
                self._first_slot = _first_semi_monthly_slot_after(start, semi_monthly_days)
            else:
                self._first_slot = self._slot_of_first_payment(first_payment)
            start_slot = _semi_monthly_slot_of(start, semi_monthly_days)
            self.first_period_is_regular = start_slot is not None and start_slot + 1 == self._first_slot
        elif first_payment is None:
            self.first_period_is_regular = True
        else:
            # The first payment date becomes the anchor of every later due date.
            self._anchor = first_payment
            self._anchor_index = 1
            self.first_period_is_regular = first_payment == one_period_after(start, frequency)

    def _slot_of_first_payment(self, first_payment: date) -> int:
        slot = _semi_monthly_slot_of(first_payment, self.semi_monthly_days)
        if slot is None:
            first_day, second_day = self.semi_monthly_days
            raise LoanValidationError(
                "first_payment_date",
                first_payment,
                f"first_payment_date {first_payment.isoformat()} is not one of the semi-monthly due days "
                f"{first_day} and {second_day}; pick a date on one of those days or change semi_monthly_days",
            )
        return slot

    def date_of(self, number: int) -> date:
        """Return the due date of installment ``number`` (0 gives the disbursement date)."""
        cache = self._cache
        if len(cache) <= number:
            with self._lock:
                while len(cache) <= number:
                    cache.append(self._compute(len(cache)))
        return cache[number]

    def _compute(self, number: int) -> date:
        frequency = self.frequency
        if frequency is Frequency.SEMI_MONTHLY:
            return _semi_monthly_slot_date(self._first_slot + number - 1, self.semi_monthly_days)
        steps = number - self._anchor_index
        if frequency in _DAYS_PER_PERIOD:
            return self._anchor + timedelta(days=_DAYS_PER_PERIOD[frequency] * steps)
        due: date = self._anchor + _months(_MONTHS_PER_PERIOD[frequency] * steps)
        return due

    def count_until(self, end: date, limit: int) -> int:
        """Return how many due dates fall on or before ``end``.

        Counting stops at ``limit + 1``, so a far-away end date costs bounded work.
        """
        count = 0
        while count <= limit and self.date_of(count + 1) <= end:
            count += 1
        return count

    def first_number_after(self, day: date) -> int:
        """Return the number of the first installment due strictly after ``day``."""
        low, high = 1, 1
        while self.date_of(high) <= day:
            low = high + 1
            high *= 2
        while low < high:
            middle = (low + high) // 2
            if self.date_of(middle) <= day:
                low = middle + 1
            else:
                high = middle
        return low


def local_today(time_zone: str, now_utc: datetime) -> date:
    """Return the calendar date at ``now_utc`` in the IANA time zone ``time_zone``.

    Overdue checks must use this date, because at 01:30 UTC on January 16 it is
    still January 15 in Los Angeles.
    """
    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise LoanValidationError(
            "now_utc",
            now_utc,
            f"now_utc {now_utc.isoformat()} has no time zone; pass an aware datetime such as "
            "datetime.now(timezone.utc)",
        )
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise LoanValidationError(
            "time_zone",
            time_zone,
            f"time_zone {time_zone!r} is not a known IANA time zone; pass a name such as 'Europe/Paris'",
        ) from err
    return now_utc.astimezone(zone).date()
