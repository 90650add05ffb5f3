"""The state of a loan as of a date, from its terms and the repayments actually made.

Interest accrues on the outstanding principal between the actual dates and is
booked (rounded to the minor unit) at every due date, repayment and change of
terms. Paying each installment on its due date therefore books exactly the
interest of the schedule. Unpaid interest is never added to the principal.

A repayment pays overdue interest first, then current interest, then
principal. Separately, its amount covers the installments in due-date order, up
to and including the installment of the current period (the first one due on or
after the payment date). Any amount beyond that is a prepayment: it goes to
principal and re-plans the rest of the loan by the repayment's ``extra_mode``.
The last installment is whatever is left to pay, so late or early payments
change only its amount.

A reversed repayment is left out of ``repayments`` by the caller: the state is
then exactly as if it had never been logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from loansyncro.money import MONEY_CONTEXT, format_amount, in_money_context, round_to_minor_unit, zero_amount
from loansyncro.schedule.amortization import Plan, ScheduleRow, annuity_payment, initial_plan
from loansyncro.schedule.daycount import Ratio, interest_for, span_ratio, year_fraction
from loansyncro.schedule.errors import LoanValidationError, RepaymentExceedsPayoffError
from loansyncro.schedule.terms import (
    MAX_INSTALLMENTS,
    LoanTerms,
    Method,
    check_amount,
    check_annual_rate,
    check_installment_count,
    parse_enum,
    require_date,
    require_loan_date,
)


class ExtraMode(StrEnum):
    """Effect of a prepayment on the rest of the loan."""

    SHORTEN_TERM = "shorten_term"
    LOWER_INSTALLMENT = "lower_installment"


class InstallmentStatus(StrEnum):
    """Status of one installment as of a date.

    An unpaid or partly paid installment is ``due`` on its due date and
    ``overdue`` from the next day. ``partially_paid`` is used only before
    the due date.
    """

    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DUE = "due"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"


@dataclass(frozen=True)
class Repayment:
    """A payment the borrower made; ``extra_mode`` applies to any prepaid part."""

    id: str
    amount: Decimal
    paid_on: date
    extra_mode: ExtraMode = ExtraMode.SHORTEN_TERM

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise LoanValidationError("id", self.id, f"repayment id {self.id!r} must be a non-empty string")
        require_date(self.paid_on, "paid_on")
        object.__setattr__(self, "extra_mode", parse_enum(ExtraMode, self.extra_mode, "extra_mode"))


@dataclass(frozen=True)
class TermChange:
    """A change of terms that re-plans the installments due after ``effective_on``.

    ``installments`` is the number of installments due after ``effective_on``.
    ``end_date`` gives that number as the due dates up to and including it.
    Interest accrues at the new rate from ``effective_on``. Without a new count
    the remaining number of installments stays as planned.
    """

    effective_on: date
    annual_rate: Decimal | None = None
    installments: int | None = None
    end_date: date | None = None

    def __post_init__(self) -> None:
        effective_on = require_loan_date(self.effective_on, "effective_on")
        if self.annual_rate is None and self.installments is None and self.end_date is None:
            raise LoanValidationError(
                "annual_rate",
                None,
                f"term change on {effective_on.isoformat()} changes nothing; "
                "pass a new annual_rate, installments or end_date",
            )
        if self.annual_rate is not None:
            object.__setattr__(self, "annual_rate", check_annual_rate(self.annual_rate))
        if self.installments is not None and self.end_date is not None:
            raise LoanValidationError(
                "installments",
                self.installments,
                "pass at most one of installments and end_date in a term change "
                f"(got installments={self.installments!r}, end_date={self.end_date!r})",
            )
        if self.installments is not None:
            check_installment_count(self.installments, "installments")
        if self.end_date is not None:
            end = require_loan_date(self.end_date, "end_date")
            if end <= effective_on:
                raise LoanValidationError(
                    "end_date",
                    end,
                    f"end_date {end.isoformat()} is not after effective_on {effective_on.isoformat()}; "
                    "pass a later end date",
                )


@dataclass(frozen=True, slots=True)
class RepaymentAllocation:
    """Allocation of one repayment, with the principal balance after it.

    ``prepayment`` is the part beyond the installments due up to the current
    period. It is included in ``principal`` when the interest was paid.
    """

    repayment_id: str
    paid_on: date
    amount: Decimal
    overdue_interest: Decimal
    current_interest: Decimal
    principal: Decimal
    prepayment: Decimal
    balance_after: Decimal

    @property
    def interest(self) -> Decimal:
        """Interest paid by this repayment, overdue and current together."""
        return self.overdue_interest + self.current_interest

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready mapping with amounts as decimal strings."""
        return {
            "repayment_id": self.repayment_id,
            "paid_on": self.paid_on.isoformat(),
            "amount": format_amount(self.amount),
            "overdue_interest": format_amount(self.overdue_interest),
            "current_interest": format_amount(self.current_interest),
            "interest": format_amount(self.interest),
            "principal": format_amount(self.principal),
            "prepayment": format_amount(self.prepayment),
            "balance_after": format_amount(self.balance_after),
        }


@dataclass(frozen=True, slots=True)
class InstallmentState:
    """One installment as of the state's date; ``remaining`` is ``amount_due`` minus ``paid``."""

    number: int
    due_date: date
    amount_due: Decimal
    paid: Decimal
    remaining: Decimal
    status: InstallmentStatus
    days_past_due: int

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready mapping with amounts as decimal strings."""
        return {
            "number": self.number,
            "due_date": self.due_date.isoformat(),
            "amount_due": format_amount(self.amount_due),
            "paid": format_amount(self.paid),
            "remaining": format_amount(self.remaining),
            "status": self.status.value,
            "days_past_due": self.days_past_due,
        }


@dataclass(frozen=True)
class LoanState:
    """A loan as of ``as_of``; every amount is in ``currency`` and exact to its minor unit.

    ``accrued_interest`` is the unpaid interest up to ``as_of``, overdue part
    included. ``payoff_amount`` closes the loan on ``as_of``. ``arrears`` is
    what remains of installments due before ``as_of`` and ``days_past_due``
    counts calendar days since the oldest of them fell due. ``remaining_schedule``
    contains the planned rows of the installments due after ``as_of``.
    """

    as_of: date
    currency: str
    annual_rate: Decimal
    outstanding_principal: Decimal
    accrued_interest: Decimal
    overdue_interest: Decimal
    payoff_amount: Decimal
    principal_paid: Decimal
    interest_paid: Decimal
    total_paid: Decimal
    arrears: Decimal
    days_past_due: int
    next_due_date: date | None
    next_due_amount: Decimal | None
    closed_on: date | None
    installments: tuple[InstallmentState, ...]
    allocations: tuple[RepaymentAllocation, ...]
    remaining_schedule: tuple[ScheduleRow, ...]

    @property
    def is_closed(self) -> bool:
        """True once a repayment has paid off everything owed."""
        return self.closed_on is not None

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready mapping with amounts as decimal strings."""
        return {
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "annual_rate": format(self.annual_rate, "f"),
            "outstanding_principal": format_amount(self.outstanding_principal),
            "accrued_interest": format_amount(self.accrued_interest),
            "overdue_interest": format_amount(self.overdue_interest),
            "payoff_amount": format_amount(self.payoff_amount),
            "principal_paid": format_amount(self.principal_paid),
            "interest_paid": format_amount(self.interest_paid),
            "total_paid": format_amount(self.total_paid),
            "arrears": format_amount(self.arrears),
            "days_past_due": self.days_past_due,
            "next_due_date": self.next_due_date.isoformat() if self.next_due_date else None,
            "next_due_amount": format_amount(self.next_due_amount) if self.next_due_amount is not None else None,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "installments": [installment.to_json() for installment in self.installments],
            "allocations": [allocation.to_json() for allocation in self.allocations],
            "remaining_schedule": [row.to_json() for row in self.remaining_schedule],
        }


class _LoanTimeline:
    """Mutable replay of a loan's events in date order; :func:`loan_state` wraps it."""

    def __init__(self, terms: LoanTerms) -> None:
        self.terms: Final[LoanTerms] = terms
        self.grid = terms.due_dates()
        self.currency: Final[str] = terms.currency
        self.rounding: Final[str] = terms.rounding
        self.rate = terms.annual_rate
        self.zero: Final[Decimal] = zero_amount(terms.currency)
        self.plan: Plan = initial_plan(terms)

        self.principal = terms.principal
        self.overdue_interest = self.zero
        self.current_interest = self.zero
        self.accrued_to = terms.start_date
        # The first installment whose due date is after ``accrued_to``.
        self.next_number = 1

        # Fixed amounts of installments 1..len, never the last installment of the plan.
        self.amounts: list[Decimal] = []
        # cumulative[j] is the sum of amounts[:j].
        self.cumulative: list[Decimal] = [self.zero]
        # Sum of the repayment parts that covered installments (not prepayments).
        self.covered = self.zero

        self.principal_paid = self.zero
        self.interest_paid = self.zero
        self.closed_on: date | None = None
        self.closing_number = 0
        self.allocations: list[RepaymentAllocation] = []

    # Installments ----------------------------------------------------------

    def exists(self, number: int) -> bool:
        """Return True if installment ``number`` is part of the current plan."""
        if number < self.plan.first_number:
            return True
        return self.plan.row(number) is not None

    def is_last(self, number: int) -> bool:
        """Return True if installment ``number`` is the last one of the current plan."""
        return number >= self.plan.first_number and self.plan.is_final(number)

    def last_number(self) -> int:
        """Return the number of the last installment of the current plan, walking its rows."""
        return self.plan.last_planned_number()

    def term_end(self) -> int:
        """Return the last installment number to re-amortize over.

        A shortened plan ends where its rows run out. Any other plan ends at its
        last number, and reading that attribute keeps repeated re-plans linear.
        """
        if self.plan.shortened:
            return self.plan.last_planned_number()
        return self.plan.last_number

    def materialize_through(self, number: int) -> None:
        """Fix the amounts of installments up to ``number`` from the plan, stopping before the last."""
        while len(self.amounts) < number:
            candidate = len(self.amounts) + 1
            if self.is_last(candidate):
                return
            row = self.plan.row(candidate)
            if row is None:
                return
            self.amounts.append(row.payment)
            self.cumulative.append(self.cumulative[-1] + row.payment)

    def dues_outstanding_through(self, number: int, on: date) -> Decimal:
        """Return what remains of the installments up to ``number`` as of ``on``.

        The last installment is what is left of the debt at its due date (or on
        ``on``, if later) after the other installments' remaining amounts.
        """
        self.materialize_through(number)
        if not self.is_last(number):
            return max(self.zero, self.cumulative[number] - self.covered)
        others = max(self.zero, self.cumulative[number - 1] - self.covered)
        due = self.grid.date_of(number)
        debt = self.debt_on(max(due, on))
        return max(others, debt)

    def current_number(self, on: date) -> int:
        """Return the installment of the period containing ``on``: the first due on or after it."""
        number = self.next_number
        if number > 1 and self.grid.date_of(number - 1) == on:
            number -= 1
        if self.exists(number):
            return number
        return self.last_number()

    # Interest --------------------------------------------------------------

    def _ratio(self, start: date, end: date, number: int | None) -> Ratio:
        terms = self.terms
        if number is None:
            fraction = year_fraction(terms.day_count, start, end)
            return fraction.numerator, fraction.denominator
        grid = self.grid
        regular = number > 1 or grid.first_period_is_regular
        return span_ratio(
            terms.day_count,
            start,
            end,
            grid.date_of(number - 1),
            grid.date_of(number),
            terms.periods_per_year,
            regular,
        )

    def _interest(self, balance: Decimal, start: date, end: date, number: int | None) -> Decimal:
        return interest_for(balance, self.rate, self._ratio(start, end, number), self.currency, self.rounding)

    def advance_to(self, day: date) -> None:
        """Book the interest up to ``day``, rounding at each due date on the way.

        Interest booked at a due date before ``day`` becomes overdue. After the
        last due date the interest accrues by the plain day count, without
        period boundaries.
        """
        if day <= self.accrued_to or self.closed_on is not None:
            return
        while self.exists(self.next_number):
            number = self.next_number
            due = self.grid.date_of(number)
            if due > day:
                break
            self.current_interest += self._interest(self.principal, self.accrued_to, due, number)
            self.accrued_to = due
            if due < day:
                self.overdue_interest += self.current_interest
                self.current_interest = self.zero
            self.next_number += 1
        if self.accrued_to < day:
            period = self.next_number if self.exists(self.next_number) else None
            self.current_interest += self._interest(self.principal, self.accrued_to, day, period)
            self.accrued_to = day

    def debt_on(self, day: date) -> Decimal:
        """Return the principal and unpaid interest on ``day`` if nothing more is paid (day >= accrued_to)."""
        debt = self.principal + self.overdue_interest + self.current_interest
        start = self.accrued_to
        number = self.next_number
        while start < day:
            if self.exists(number):
                end = min(day, self.grid.date_of(number))
                debt += self._interest(self.principal, start, end, number)
                number += 1
            else:
                end = day
                debt += self._interest(self.principal, start, end, None)
            start = end
        return debt

    def payoff(self) -> Decimal:
        """Return what closes the loan on ``accrued_to``."""
        return self.principal + self.overdue_interest + self.current_interest

    # Events ----------------------------------------------------------------

    def apply_repayment(self, repayment: Repayment, amount: Decimal) -> None:
        """Allocate one repayment of the validated ``amount`` and re-plan if part of it is a prepayment."""
        paid_on = repayment.paid_on
        if paid_on < self.terms.start_date:
            raise LoanValidationError(
                "paid_on",
                paid_on,
                f"repayment {repayment.id} paid_on {paid_on.isoformat()} is before the loan start "
                f"{self.terms.start_date.isoformat()}; pass the date the money was paid",
            )
        self.advance_to(paid_on)
        payoff = self.payoff() if self.closed_on is None else self.zero
        if amount > payoff:
            raise RepaymentExceedsPayoffError(
                "amount",
                amount,
                f"repayment {repayment.id}: amount {format_amount(amount)} exceeds the payoff amount "
                f"{format_amount(payoff)} on {paid_on.isoformat()}; pass at most the payoff amount",
                payoff_amount=payoff,
                paid_on=paid_on,
            )

        # Coverage of installments: up to the current period's installment, the rest is a prepayment.
        current = self.current_number(paid_on)
        regular = min(amount, self.dues_outstanding_through(current, paid_on))
        prepayment = amount - regular
        self.covered += regular

        # Allocation of the money: overdue interest, then current interest, then principal.
        overdue_part = min(amount, self.overdue_interest)
        current_part = min(amount - overdue_part, self.current_interest)
        principal_part = amount - overdue_part - current_part
        self.overdue_interest -= overdue_part
        self.current_interest -= current_part
        self.principal -= principal_part
        self.interest_paid += overdue_part + current_part
        self.principal_paid += principal_part

        self.allocations.append(
            RepaymentAllocation(
                repayment_id=repayment.id,
                paid_on=paid_on,
                amount=amount,
                overdue_interest=overdue_part,
                current_interest=current_part,
                principal=principal_part,
                prepayment=prepayment,
                balance_after=self.principal,
            )
        )

        if self.payoff().is_zero():
            self.closed_on = paid_on
            self.closing_number = current
        elif prepayment > 0:
            self.replan_after_prepayment(current, paid_on, repayment.extra_mode)

    def replan_after_prepayment(self, current: int, paid_on: date, mode: ExtraMode) -> None:
        """Re-plan the installments after ``current`` for the lower principal."""
        terms = self.terms
        method = terms.method
        first = current + 1
        old_plan = self.plan
        self.materialize_through(current)
        if not self.exists(first):
            return

        if mode is ExtraMode.SHORTEN_TERM and method is not Method.INTEREST_ONLY:
            # Keep the installment (or principal part). The plan ends once the balance is
            # repaid, and never after the current last installment.
            amount, last, shortened = old_plan.amount, old_plan.last_number, True
        else:
            last = self.term_end()
            amount, shortened = self._amount_for(self.principal, last - current), False

        # The plan projects installment amounts from the principal alone. Interest
        # still unpaid, and interest from a payment made before the current due
        # date up to that date, are paid first by the next repayments, and the
        # last installment absorbs the difference.
        self.plan = Plan(
            terms=terms,
            grid=self.grid,
            first_number=first,
            balance=self.principal,
            accrual_start=max(paid_on, self.grid.date_of(current)),
            annual_rate=self.rate,
            amount=amount,
            last_number=last,
            shortened=shortened,
        )

    def _amount_for(self, balance: Decimal, count: int) -> Decimal:
        """Return the plan amount (installment or principal part) that repays ``balance`` in ``count``."""
        terms = self.terms
        if terms.method is Method.INTEREST_ONLY:
            return self.zero
        if terms.method is Method.EQUAL_PRINCIPAL:
            return round_to_minor_unit(MONEY_CONTEXT.divide(balance, Decimal(count)), self.currency, self.rounding)
        return annuity_payment(balance, self.rate, terms.periods_per_year, count, self.currency, self.rounding)

    def apply_term_change(self, change: TermChange) -> None:
        """Switch to the new rate from ``effective_on`` and re-plan the installments due after it."""
        effective_on = change.effective_on
        if effective_on < self.terms.start_date:
            raise LoanValidationError(
                "effective_on",
                effective_on,
                f"term change effective_on {effective_on.isoformat()} is before the loan start "
                f"{self.terms.start_date.isoformat()}; pass a date on or after it",
            )
        if change.annual_rate is not None and self.terms.method is Method.ZERO_INTEREST and change.annual_rate != 0:
            raise LoanValidationError(
                "annual_rate",
                change.annual_rate,
                f"annual_rate {change.annual_rate} must be 0 for a zero_interest loan; pass '0'",
            )
        self.advance_to(effective_on)
        if self.closed_on is not None:
            return
        if change.annual_rate is not None:
            self.rate = change.annual_rate

        first = self.next_number
        count = self._remaining_count(change, first)
        if count < 1:
            # A new rate after the last due date: nothing is left to re-plan.
            return

        # Installments already due keep their amounts. A last installment already due
        # is closed at what it covered, because the new plan takes over the rest of the debt.
        self.materialize_through(first - 1)
        if len(self.amounts) < first - 1:
            covered_last = max(self.zero, self.covered - self.cumulative[-1])
            self.amounts.append(covered_last)
            self.cumulative.append(self.cumulative[-1] + covered_last)
        del self.amounts[first - 1 :]
        del self.cumulative[first:]

        # Arrears stay due as they were, so the new plan spreads only the rest of the debt.
        # NOTE: that rest includes unpaid interest, so the new installments are computed on
        # slightly more than the principal; the last installment gives the difference back.
        arrears = max(self.zero, self.cumulative[-1] - self.covered)
        balance = max(self.zero, self.payoff() - arrears)
        self.plan = Plan(
            terms=self.terms,
            grid=self.grid,
            first_number=first,
            balance=balance,
            accrual_start=effective_on,
            annual_rate=self.rate,
            amount=self._amount_for(balance, count),
            last_number=first + count - 1,
        )
        # Walk the new rows now, so a change that cannot amortize (NegativeAmortizationError)
        # fails at its own date rather than at a later repayment.
        self.plan.all_rows()

    def _remaining_count(self, change: TermChange, first: int) -> int:
        if change.installments is not None:
            return change.installments
        if change.end_date is None:
            return self.term_end() - first + 1
        count = self.grid.count_until(change.end_date, first - 1 + MAX_INSTALLMENTS) - (first - 1)
        if count < 1:
            raise LoanValidationError(
                "end_date",
                change.end_date,
                f"term change end_date {change.end_date.isoformat()} is before the next due date "
                f"{self.grid.date_of(first).isoformat()}; pass a date on or after it",
            )
        if count > MAX_INSTALLMENTS:
            raise LoanValidationError(
                "end_date",
                change.end_date,
                f"term change end_date {change.end_date.isoformat()} gives more than {MAX_INSTALLMENTS} "
                "installments; pass an earlier end date",
            )
        return count

    # Result ----------------------------------------------------------------

    def installment_states(self, as_of: date) -> tuple[InstallmentState, ...]:
        """Return every installment of the current plan with its status on ``as_of``."""
        closed = self.closed_on is not None
        last = self.closing_number if closed else self.last_number()
        self.materialize_through(last)
        states: list[InstallmentState] = []
        for number in range(1, last + 1):
            due_date = self.grid.date_of(number)
            covered_before = self.cumulative[number - 1]
            paid = max(self.zero, self.covered - covered_before)
            if number <= len(self.amounts):
                amount_due = self.amounts[number - 1]
                paid = min(paid, amount_due)
            elif closed:
                amount_due = paid
            elif self.grid.date_of(number - 1) < as_of:
                # The period of the last installment has started: it is whatever
                # is left of the debt at its due date after the other installments.
                others = max(self.zero, covered_before - self.covered)
                amount_due = paid + max(self.zero, self.debt_on(max(due_date, as_of)) - others)
            else:
                planned = self.plan.row(number)
                assert planned is not None
                amount_due = max(paid, planned.payment)
            if closed:
                # A paid-off loan owes nothing, even where the payoff was less than the plan.
                amount_due = paid
            remaining = amount_due - paid
            states.append(
                InstallmentState(
                    number=number,
                    due_date=due_date,
                    amount_due=amount_due,
                    paid=paid,
                    remaining=remaining,
                    status=_status(due_date, paid, remaining, as_of),
                    days_past_due=(as_of - due_date).days if remaining > 0 and due_date < as_of else 0,
                )
            )
        return tuple(states)

    def remaining_schedule(self, as_of: date) -> tuple[ScheduleRow, ...]:
        """Return the planned rows of installments due after ``as_of``."""
        if self.closed_on is not None:
            return ()
        return tuple(row for row in self.plan.all_rows() if row.due_date > as_of)


def _status(due_date: date, paid: Decimal, remaining: Decimal, as_of: date) -> InstallmentStatus:
    if remaining.is_zero():
        return InstallmentStatus.PAID
    if due_date < as_of:
        return InstallmentStatus.OVERDUE
    if due_date == as_of:
        return InstallmentStatus.DUE
    if paid > 0:
        return InstallmentStatus.PARTIALLY_PAID
    return InstallmentStatus.UPCOMING


def _ordered_repayments(repayments: Iterable[Repayment], currency: str) -> list[tuple[Repayment, Decimal]]:
    """Validate the repayments and sort them by payment date, then id, whatever the input order.

    Each repayment comes with its amount checked against the currency's minor unit.
    """
    seen: set[str] = set()
    ordered: list[tuple[Repayment, Decimal]] = []
    for repayment in repayments:
        if not isinstance(repayment, Repayment):
            raise LoanValidationError(
                "repayments", repayment, f"{repayment!r} is not a Repayment; pass Repayment values"
            )
        if repayment.id in seen:
            raise LoanValidationError(
                "id", repayment.id, f"repayment id {repayment.id!r} appears twice; pass each repayment once"
            )
        seen.add(repayment.id)
        ordered.append((repayment, check_amount(repayment.amount, currency, "amount")))
    ordered.sort(key=lambda item: (item[0].paid_on, item[0].id))
    return ordered


def _ordered_term_changes(term_changes: Iterable[TermChange]) -> list[TermChange]:
    ordered = sorted(term_changes, key=lambda change: change.effective_on)
    for earlier, later in zip(ordered, ordered[1:]):
        if earlier.effective_on == later.effective_on:
            raise LoanValidationError(
                "effective_on",
                later.effective_on,
                f"two term changes take effect on {later.effective_on.isoformat()}; merge them into one",
            )
    return ordered


@in_money_context
def loan_state(
    terms: LoanTerms,
    repayments: Iterable[Repayment],
    as_of: date,
    term_changes: Sequence[TermChange] = (),
) -> LoanState:
    """Replay the repayments and term changes up to ``as_of`` and return the loan's state.

    Repayments are applied in order of ``paid_on`` and then ``id``, so the input
    order does not matter. Repayments and term changes dated after ``as_of``
    are ignored. Raises LoanValidationError for invalid input and
    RepaymentExceedsPayoffError for a repayment larger than the payoff amount
    on its date.
    """
    require_date(as_of, "as_of")
    ordered_repayments = _ordered_repayments(repayments, terms.currency)
    ordered_changes = _ordered_term_changes(term_changes)

    # On one day, repayments come before a term change, so a re-plan includes them.
    # NOTE: repayments of one day apply in id order, not logging order. An installment
    # and an extra payment made the same day give the documented split only when the
    # installment's id sorts first (time-ordered ids do) or when they are one repayment.
    events: list[tuple[date, int, tuple[Repayment, Decimal] | TermChange]] = [
        (item[0].paid_on, 0, item) for item in ordered_repayments if item[0].paid_on <= as_of
    ]
    events += [(change.effective_on, 1, change) for change in ordered_changes if change.effective_on <= as_of]
    # A stable sort keeps the repayments of one day in id order.
    events.sort(key=lambda event: (event[0], event[1]))

    timeline = _LoanTimeline(terms)
    for _, _, event in events:
        if isinstance(event, TermChange):
            timeline.apply_term_change(event)
        else:
            timeline.apply_repayment(*event)
    timeline.advance_to(as_of)

    installments = timeline.installment_states(as_of)
    overdue = [installment for installment in installments if installment.status is InstallmentStatus.OVERDUE]
    upcoming = [
        installment
        for installment in installments
        if installment.due_date >= as_of and installment.remaining > 0
    ]
    next_installment = upcoming[0] if upcoming else None
    accrued = timeline.overdue_interest + timeline.current_interest
    return LoanState(
        as_of=as_of,
        currency=terms.currency,
        annual_rate=timeline.rate,
        outstanding_principal=timeline.principal,
        accrued_interest=accrued,
        overdue_interest=timeline.overdue_interest,
        payoff_amount=timeline.principal + accrued,
        principal_paid=timeline.principal_paid,
        interest_paid=timeline.interest_paid,
        total_paid=timeline.principal_paid + timeline.interest_paid,
        arrears=sum((installment.remaining for installment in overdue), zero_amount(terms.currency)),
        days_past_due=max((installment.days_past_due for installment in overdue), default=0),
        next_due_date=next_installment.due_date if next_installment else None,
        next_due_amount=next_installment.remaining if next_installment else None,
        closed_on=timeline.closed_on,
        installments=installments,
        allocations=tuple(timeline.allocations),
        remaining_schedule=timeline.remaining_schedule(as_of),
    )


def payoff_amount(
    terms: LoanTerms,
    repayments: Iterable[Repayment],
    on: date,
    term_changes: Sequence[TermChange] = (),
) -> Decimal:
    """Return the amount that closes the loan on ``on``: principal plus interest accrued to that day."""
    return loan_state(terms, repayments, on, term_changes).payoff_amount
