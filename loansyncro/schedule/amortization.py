"""Amortization schedules: installments split into interest and principal.

Interest is rounded to the minor unit in every period. The regular installment
comes from the nominal periodic rate (annual rate / periods per year) and is
rounded once. The last installment pays whatever balance is left, so the
principal parts add up to the principal exactly.

:class:`Plan` computes the rows lazily. The repayment state uses it to re-plan
the rest of a loan after a prepayment or a change of terms without building
whole schedules over and over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Final

from loansyncro.money import (
    MONEY_CONTEXT,
    format_amount,
    in_money_context,
    minor_unit,
    round_to_minor_unit,
    zero_amount,
)
from loansyncro.schedule.calendar import DueDateGrid
from loansyncro.schedule.daycount import Ratio, interest_for, span_ratio
from loansyncro.schedule.errors import LoanValidationError, NegativeAmortizationError
from loansyncro.schedule.terms import MAX_INSTALLMENTS, LoanTerms, Method

_ZERO: Final[Decimal] = Decimal(0)


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One installment: amounts in the schedule's currency, ``balance`` after the payment."""

    number: int
    due_date: date
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready mapping with amounts as decimal strings."""
        return {
            "number": self.number,
            "due_date": self.due_date.isoformat(),
            "payment": format_amount(self.payment),
            "interest": format_amount(self.interest),
            "principal": format_amount(self.principal),
            "balance": format_amount(self.balance),
        }


@dataclass(frozen=True, slots=True)
class Schedule:
    """The planned installments of a loan with their totals."""

    currency: str
    rows: tuple[ScheduleRow, ...]
    total_payment: Decimal
    total_interest: Decimal
    total_principal: Decimal

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready mapping with amounts as decimal strings."""
        return {
            "currency": self.currency,
            "rows": [row.to_json() for row in self.rows],
            "total_payment": format_amount(self.total_payment),
            "total_interest": format_amount(self.total_interest),
            "total_principal": format_amount(self.total_principal),
        }


@in_money_context
def annuity_payment(
    balance: Decimal, annual_rate: Decimal, periods_per_year: int, count: int, currency: str, rounding: str
) -> Decimal:
    """Return the equal installment that repays ``balance`` in ``count`` periods.

    Uses the nominal periodic rate ``annual_rate / 100 / periods_per_year`` and
    rounds the result to the minor unit with ``rounding``. A zero rate gives
    ``balance / count``.
    """
    context = MONEY_CONTEXT
    if annual_rate.is_zero():
        return round_to_minor_unit(context.divide(balance, Decimal(count)), currency, rounding)
    periodic_rate = context.divide(annual_rate, Decimal(100 * periods_per_year))
    growth = context.power(context.add(Decimal(1), periodic_rate), count)
    exact = context.divide(
        context.multiply(context.multiply(balance, periodic_rate), growth),
        context.subtract(growth, Decimal(1)),
    )
    return round_to_minor_unit(exact, currency, rounding)


class Plan:
    """The installments from ``first_number`` on, planned from a balance at a date.

    ``amount`` is the installment for the annuity and zero-interest methods and
    the principal part for equal_principal. It is ignored for interest_only.
    The plan ends at ``last_number``, which absorbs what is left, or earlier
    when an installment repays the balance. ``shortened`` marks a plan that kept
    its amount after a prepayment, so it usually ends before ``last_number``.
    ``accrual_start`` must lie in the period of the first row. Rows are
    computed on demand and kept.
    """

    def __init__(
        self,
        terms: LoanTerms,
        grid: DueDateGrid,
        first_number: int,
        balance: Decimal,
        accrual_start: date,
        annual_rate: Decimal,
        amount: Decimal,
        last_number: int,
        shortened: bool = False,
    ) -> None:
        self.terms: Final[LoanTerms] = terms
        self.grid: Final[DueDateGrid] = grid
        self.first_number: Final[int] = first_number
        self.start_balance: Final[Decimal] = balance
        self.accrual_start: Final[date] = accrual_start
        self.annual_rate: Final[Decimal] = annual_rate
        self.amount: Final[Decimal] = amount
        self.last_number: Final[int] = last_number
        self.shortened: Final[bool] = shortened
        self.rows: Final[list[ScheduleRow]] = []
        self.finished = balance.is_zero()
        self._balance = balance
        self._currency = terms.currency
        self._rounding = terms.rounding
        self._method = terms.method
        self._day_count = terms.day_count
        self._periods_per_year = terms.periods_per_year
        self._zero = zero_amount(terms.currency)

    def _ratio(self, number: int, start: date | None = None) -> Ratio:
        """Return the year fraction of period ``number``, or of its part from ``start`` on."""
        grid = self.grid
        period_start = grid.date_of(number - 1)
        period_end = grid.date_of(number)
        regular = number > 1 or grid.first_period_is_regular
        return span_ratio(
            self._day_count,
            start or period_start,
            period_end,
            period_start,
            period_end,
            self._periods_per_year,
            regular,
        )

    def _next_row(self) -> ScheduleRow:
        number = self.first_number + len(self.rows)
        balance = self._balance
        if number == self.first_number:
            ratio = self._ratio(number, self.accrual_start)
            interest = interest_for(balance, self.annual_rate, ratio, self._currency, self._rounding)
        else:
            interest = interest_for(balance, self.annual_rate, self._ratio(number), self._currency, self._rounding)
        method = self._method

        if number == self.last_number:
            principal = balance
        elif method is Method.INTEREST_ONLY:
            principal = self._zero
        elif method is Method.EQUAL_PRINCIPAL:
            principal = min(self.amount, balance)
        else:
            principal = self.amount - interest
            if principal < 0:
                raise self._negative_amortization(number, interest, balance)
            principal = min(principal, balance)

        remaining = balance - principal
        row = ScheduleRow(number, self.grid.date_of(number), principal + interest, interest, principal, remaining)
        self.rows.append(row)
        self._balance = remaining
        if remaining.is_zero():
            self.finished = True
        return row

    def row(self, number: int) -> ScheduleRow | None:
        """Return the planned row of installment ``number``, or None if the plan ends before it."""
        index = number - self.first_number
        if index < 0:
            raise ValueError(f"installment {number} is before the first planned installment {self.first_number}")
        while len(self.rows) <= index and not self.finished:
            self._next_row()
        return self.rows[index] if index < len(self.rows) else None

    def is_final(self, number: int) -> bool:
        """Return True if installment ``number`` is the last one of the plan."""
        row = self.row(number)
        return row is not None and row.balance.is_zero()

    def all_rows(self) -> list[ScheduleRow]:
        """Compute and return every remaining planned row."""
        while not self.finished:
            self._next_row()
        return self.rows

    def last_planned_number(self) -> int:
        """Return the number of the final installment of the plan.

        This walks the remaining rows, because even a plan with ``last_number``
        ends early when a rounded-up installment repays the balance sooner.
        """
        rows = self.all_rows()
        return rows[-1].number if rows else self.first_number - 1

    def _negative_amortization(self, number: int, interest: Decimal, balance: Decimal) -> NegativeAmortizationError:
        minimum = self._minimum_amortizing_payment()
        due = self.grid.date_of(number)
        grown = balance + interest - self.amount
        field: str
        value: object
        if self.terms.installment_amount is not None:
            field, value = "installment_amount", self.amount
            fix = f"pass an installment_amount of at least {format_amount(minimum)}"
        elif number == 1 and not self.grid.first_period_is_regular:
            field, value = "first_payment_date", self.terms.first_payment_date
            fix = "pass an earlier first_payment_date"
        else:
            field, value = "day_count", self.terms.day_count
            fix = "use the 30/360 day count, a lower rate or a shorter term"
        return NegativeAmortizationError(
            field,
            value,
            f"installment {format_amount(self.amount)} does not cover the interest {format_amount(interest)} "
            f"of installment {number} due {due.isoformat()}, so the balance would grow to "
            f"{format_amount(grown)} (negative amortization); the minimum amortizing payment is "
            f"{format_amount(minimum)}; {fix}",
            minimum_payment=minimum,
        )

    def _minimum_amortizing_payment(self) -> Decimal:
        """Return the interest of the costliest period on the starting balance plus one minor unit.

        An installment of at least this amount reduces the balance in every
        period, because the balance then never exceeds the starting balance.
        """
        terms = self.terms
        largest = _ZERO
        for number in range(self.first_number, self.last_number + 1):
            ratio = self._ratio(number)
            interest = interest_for(self.start_balance, self.annual_rate, ratio, terms.currency, ROUND_CEILING)
            largest = max(largest, interest)
        return largest + minor_unit(terms.currency)


def initial_plan(terms: LoanTerms) -> Plan:
    """Return the plan of the whole loan as contracted."""
    count = terms.number_of_installments
    if terms.method is Method.EQUAL_PRINCIPAL:
        amount = round_to_minor_unit(MONEY_CONTEXT.divide(terms.principal, Decimal(count)), terms.currency,
                                     terms.rounding)
    elif terms.method is Method.INTEREST_ONLY:
        amount = _ZERO
    elif terms.installment_amount is not None:
        amount = terms.installment_amount
    else:
        amount = annuity_payment(
            terms.principal, terms.annual_rate, terms.periods_per_year, count, terms.currency, terms.rounding
        )
    return Plan(
        terms=terms,
        grid=terms.due_dates(),
        first_number=1,
        balance=terms.principal,
        accrual_start=terms.start_date,
        annual_rate=terms.annual_rate,
        amount=amount,
        last_number=count,
    )


@in_money_context
def build_schedule(terms: LoanTerms) -> Schedule:
    """Build the full schedule of ``terms``.

    Raises NegativeAmortizationError when an installment does not cover the
    interest of its period. The schedule can have fewer rows than installments
    only when a caller-fixed installment repays the loan early, or when rounding
    the installment up repays a tiny principal early.
    """
    rows = tuple(initial_plan(terms).all_rows())
    zero = zero_amount(terms.currency)
    total_interest = sum((row.interest for row in rows), zero)
    total_principal = sum((row.principal for row in rows), zero)
    return Schedule(
        currency=terms.currency,
        rows=rows,
        total_payment=total_interest + total_principal,
        total_interest=total_interest,
        total_principal=total_principal,
    )
