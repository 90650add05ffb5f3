"""Loan terms: the validated inputs of every schedule and repayment calculation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final, TypeVar

from loansyncro.money import (
    DEFAULT_ROUNDING,
    ROUNDING_MODES,
    MoneyValidationError,
    exact_amount,
    to_decimal,
    validate_currency,
)
from loansyncro.schedule.calendar import DEFAULT_SEMI_MONTHLY_DAYS, PERIODS_PER_YEAR, DueDateGrid, Frequency
from loansyncro.schedule.daycount import DayCount
from loansyncro.schedule.errors import LoanValidationError


class Method(StrEnum):
    """Rule that splits each installment into interest and principal."""

    ANNUITY = "annuity"
    EQUAL_PRINCIPAL = "equal_principal"
    INTEREST_ONLY = "interest_only"
    ZERO_INTEREST = "zero_interest"


# A 50-year weekly loan has 2600 installments. The cap bounds the work that one
# request can cause.
MAX_INSTALLMENTS: Final[int] = 3000
MAX_ANNUAL_RATE: Final[Decimal] = Decimal(100)

_EnumT = TypeVar("_EnumT", bound=StrEnum)


def parse_enum(enum_type: type[_EnumT], value: object, field_name: str) -> _EnumT:
    """Convert ``value`` to a member of ``enum_type`` or raise LoanValidationError listing the choices."""
    choices = ", ".join(f"'{member.value}'" for member in enum_type)
    error = LoanValidationError(field_name, value, f"{field_name} {value!r} is not supported; use one of {choices}")
    if not isinstance(value, str):
        raise error
    try:
        return enum_type(value)
    except ValueError as err:
        raise error from err


# Loan dates outside these years are typing mistakes, and a schedule running
# MAX_INSTALLMENTS periods from the last one still ends before year 9999,
# the largest year Python's dates hold.
EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2199, 12, 31)


def require_date(value: object, field_name: str) -> date:
    """Return ``value`` if it is a calendar date (not a datetime), else raise LoanValidationError."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise LoanValidationError(
            field_name, value, f"{field_name} {value!r} is not a calendar date; pass a datetime.date"
        )
    return value


def require_loan_date(value: object, field_name: str) -> date:
    """Return a date of the loan's terms if it lies between EARLIEST_DATE and LATEST_DATE."""
    value = require_date(value, field_name)
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise LoanValidationError(
            field_name,
            value,
            f"{field_name} {value.isoformat()} is out of range; use a date from "
            f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}",
        )
    return value


def check_amount(value: object, currency: str, field_name: str) -> Decimal:
    """Return a positive amount exact to the minor unit of ``currency``."""
    try:
        amount = exact_amount(value, currency, field_name)
    except MoneyValidationError as err:
        raise LoanValidationError(field_name, value, str(err)) from err
    if amount <= 0:
        raise LoanValidationError(field_name, value, f"{field_name} {value} must be greater than zero")
    return amount


def check_annual_rate(value: object, field_name: str = "annual_rate") -> Decimal:
    """Return a nominal annual rate in percent between 0 and 100 inclusive."""
    try:
        rate = to_decimal(value, field_name)
    except MoneyValidationError as err:
        raise LoanValidationError(field_name, value, str(err)) from err
    if rate < 0 or rate > MAX_ANNUAL_RATE:
        raise LoanValidationError(
            field_name,
            value,
            f"{field_name} {value} is outside 0 to 100; pass the nominal annual rate in percent, "
            "such as '7.5' for 7.5%",
        )
    return rate


def check_installment_count(value: object, field_name: str) -> int:
    """Return a number of installments between 1 and MAX_INSTALLMENTS."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_INSTALLMENTS:
        raise LoanValidationError(
            field_name, value, f"{field_name} {value!r} must be a whole number from 1 to {MAX_INSTALLMENTS}"
        )
    return value


@dataclass(frozen=True)
class LoanTerms:
    """The contract of a loan, validated once when the value is created.

    Pass exactly one of ``installments`` and ``end_date``. With an end date the
    number of installments is the number of due dates up to and including it.
    ``annual_rate`` is the nominal annual rate in percent. ``installment_amount``
    fixes the installment of an annuity instead of computing it.

    A zero_interest loan must have a rate of 0: a non-zero rate is rejected
    rather than ignored, because either the method or the rate would be wrong.
    Strings are accepted for the enum fields and amounts and are converted.
    Invalid input raises LoanValidationError naming the field.
    """

    principal: Decimal
    annual_rate: Decimal
    currency: str
    start_date: date
    first_payment_date: date | None = None
    installments: int | None = None
    end_date: date | None = None
    frequency: Frequency = Frequency.MONTHLY
    method: Method = Method.ANNUITY
    day_count: DayCount = DayCount.THIRTY_360
    rounding: str = DEFAULT_ROUNDING
    semi_monthly_days: tuple[int, int] = DEFAULT_SEMI_MONTHLY_DAYS
    installment_amount: Decimal | None = None
    number_of_installments: int = field(init=False, repr=False, compare=False)
    _grid: DueDateGrid = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_field = object.__setattr__

        try:
            currency = validate_currency(self.currency)
        except MoneyValidationError as err:
            raise LoanValidationError("currency", self.currency, str(err)) from err
        set_field(self, "principal", check_amount(self.principal, currency, "principal"))
        set_field(self, "annual_rate", check_annual_rate(self.annual_rate))
        frequency = parse_enum(Frequency, self.frequency, "frequency")
        set_field(self, "frequency", frequency)
        method = parse_enum(Method, self.method, "method")
        set_field(self, "method", method)
        set_field(self, "day_count", parse_enum(DayCount, self.day_count, "day_count"))
        if self.rounding not in ROUNDING_MODES:
            raise LoanValidationError(
                "rounding",
                self.rounding,
                f"rounding {self.rounding!r} is not a decimal rounding mode; "
                f"use one of {', '.join(sorted(ROUNDING_MODES))}",
            )

        if method is Method.ZERO_INTEREST and self.annual_rate != 0:
            raise LoanValidationError(
                "annual_rate",
                self.annual_rate,
                f"annual_rate {self.annual_rate} must be 0 for a zero_interest loan; "
                "pass annual_rate '0' or choose the annuity method",
            )
        if self.installment_amount is not None:
            if method not in (Method.ANNUITY, Method.ZERO_INTEREST):
                raise LoanValidationError(
                    "installment_amount",
                    self.installment_amount,
                    f"installment_amount applies only to the annuity and zero_interest methods, "
                    f"not to {method.value}; leave it out",
                )
            set_field(
                self, "installment_amount", check_amount(self.installment_amount, currency, "installment_amount")
            )

        self._check_semi_monthly_days()
        self._check_dates()
        set_field(
            self,
            "_grid",
            DueDateGrid(self.start_date, frequency, self.first_payment_date, self.semi_monthly_days),
        )
        set_field(self, "number_of_installments", self._count_installments())

    def _check_semi_monthly_days(self) -> None:
        days = self.semi_monthly_days
        valid = (
            isinstance(days, tuple)
            and len(days) == 2
            and all(isinstance(day, int) and not isinstance(day, bool) for day in days)
            and 1 <= days[0] < days[1] <= 31
        )
        if not valid:
            raise LoanValidationError(
                "semi_monthly_days",
                days,
                f"semi_monthly_days {days!r} must be two increasing days of the month from 1 to 31, "
                "such as (1, 15); 31 means the last day of the month",
            )

    def _check_dates(self) -> None:
        start = require_loan_date(self.start_date, "start_date")
        if self.first_payment_date is not None:
            first = require_loan_date(self.first_payment_date, "first_payment_date")
            if first <= start:
                raise LoanValidationError(
                    "first_payment_date",
                    first,
                    f"first_payment_date {first.isoformat()} is not after start_date {start.isoformat()}; "
                    "pass a later first payment date or leave it out",
                )
        if (self.installments is None) == (self.end_date is None):
            raise LoanValidationError(
                "installments",
                self.installments,
                "pass exactly one of installments and end_date "
                f"(got installments={self.installments!r}, end_date={self.end_date!r})",
            )
        if self.installments is not None:
            check_installment_count(self.installments, "installments")
        if self.end_date is not None:
            end = require_loan_date(self.end_date, "end_date")
            earliest = self.first_payment_date or start
            if end <= start or end < earliest:
                raise LoanValidationError(
                    "end_date",
                    end,
                    f"end_date {end.isoformat()} is before the first due date; pass a date after "
                    f"start_date {start.isoformat()} and not before the first payment date",
                )

    def _count_installments(self) -> int:
        grid = self.due_dates()
        if self.installments is not None:
            return self.installments
        assert self.end_date is not None
        count = grid.count_until(self.end_date, MAX_INSTALLMENTS)
        if count == 0:
            raise LoanValidationError(
                "end_date",
                self.end_date,
                f"end_date {self.end_date.isoformat()} is before the first due date "
                f"{grid.date_of(1).isoformat()}; pass a date on or after it",
            )
        if count > MAX_INSTALLMENTS:
            raise LoanValidationError(
                "end_date",
                self.end_date,
                f"end_date {self.end_date.isoformat()} gives more than {MAX_INSTALLMENTS} installments; "
                "pass an earlier end date or a longer frequency",
            )
        return count

    @property
    def periods_per_year(self) -> int:
        """Number of installments per year for the frequency (monthly 12, weekly 52)."""
        return PERIODS_PER_YEAR[self.frequency]

    def due_dates(self) -> DueDateGrid:
        """Return the grid of the loan's due dates by installment number (shared and cached)."""
        return self._grid
