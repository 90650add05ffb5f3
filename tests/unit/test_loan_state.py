"""Loan state from actual repayments: accrual, allocation, statuses, arrears, payoff and re-plans.

The loan in most tests: 1200.00 at 12% over 12 monthly installments of 106.62
from 2025-01-01, 30/360, so a full month of interest on 1200.00 is 12.00.
"""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal

import pytest

from loansyncro.schedule import (
    ExtraMode,
    InstallmentStatus,
    LoanTerms,
    Method,
    Repayment,
    RepaymentExceedsPayoffError,
    TermChange,
    build_schedule,
    loan_state,
    payoff_amount,
)


def twelve_hundred() -> LoanTerms:
    return LoanTerms(
        principal=Decimal("1200.00"),
        annual_rate=Decimal("12"),
        currency="USD",
        start_date=date(2025, 1, 1),
        installments=12,
    )


def on_time_repayments(terms: LoanTerms, count: int) -> list[Repayment]:
    rows = build_schedule(terms).rows[:count]
    return [Repayment(f"r{row.number:02d}", row.payment, row.due_date) for row in rows]


# Before and on schedule ------------------------------------------------------


def test_new_loan_owes_principal_only() -> None:
    state = loan_state(twelve_hundred(), [], date(2025, 1, 1))

    assert state.outstanding_principal == Decimal("1200.00")
    assert state.accrued_interest == Decimal("0.00")
    assert state.payoff_amount == Decimal("1200.00")
    assert state.next_due_date == date(2025, 2, 1)
    assert state.next_due_amount == Decimal("106.62")
    assert {installment.status for installment in state.installments} == {InstallmentStatus.UPCOMING}


def test_on_time_repayments_follow_schedule() -> None:
    terms = twelve_hundred()
    rows = build_schedule(terms).rows
    state = loan_state(terms, on_time_repayments(terms, 6), date(2025, 7, 1))

    assert state.outstanding_principal == rows[5].balance
    assert [allocation.interest for allocation in state.allocations] == [row.interest for row in rows[:6]]
    assert [allocation.balance_after for allocation in state.allocations] == [row.balance for row in rows[:6]]
    assert state.interest_paid == sum(row.interest for row in rows[:6])
    assert state.principal_paid == Decimal("1200.00") - rows[5].balance
    assert state.arrears == Decimal("0.00")
    assert [installment.status for installment in state.installments[:6]] == [InstallmentStatus.PAID] * 6


def test_all_on_time_repayments_close_loan() -> None:
    terms = twelve_hundred()
    schedule = build_schedule(terms)
    state = loan_state(terms, on_time_repayments(terms, 12), date(2026, 1, 1))

    assert state.is_closed
    assert state.closed_on == date(2026, 1, 1)
    assert state.payoff_amount == Decimal("0.00")
    assert state.interest_paid == schedule.total_interest
    assert state.total_paid == schedule.total_payment
    assert state.next_due_date is None
    assert state.remaining_schedule == ()


# Accrual and allocation ------------------------------------------------------


def test_late_payment_pays_overdue_then_current_interest() -> None:
    state = loan_state(twelve_hundred(), [Repayment("a", Decimal("106.62"), date(2025, 2, 11))], date(2025, 2, 11))
    allocation = state.allocations[0]

    assert allocation.overdue_interest == Decimal("12.00")
    # Ten of the 30 days of February's 30/360 period: 1200.00 * 12% * 10 / 360.
    assert allocation.current_interest == Decimal("4.00")
    assert allocation.principal == Decimal("90.62")
    assert allocation.balance_after == Decimal("1109.38")
    assert state.installments[0].status is InstallmentStatus.PAID


def test_interest_after_late_payment_runs_from_payment_date() -> None:
    repayments = [
        Repayment("a", Decimal("106.62"), date(2025, 2, 11)),
        Repayment("b", Decimal("106.62"), date(2025, 3, 1)),
    ]
    second = loan_state(twelve_hundred(), repayments, date(2025, 3, 1)).allocations[1]

    # 20 days on 1109.38: 1109.38 * 12% * 20 / 360 = 7.3959.
    assert second.current_interest == Decimal("7.40")
    assert second.principal == Decimal("99.22")
    assert second.balance_after == Decimal("1010.16")


def test_early_payment_saves_interest() -> None:
    state = loan_state(twelve_hundred(), [Repayment("a", Decimal("106.62"), date(2025, 1, 25))], date(2025, 2, 1))
    allocation = state.allocations[0]

    assert allocation.current_interest == Decimal("9.60")
    assert allocation.principal == Decimal("97.02")
    assert allocation.prepayment == Decimal("0.00")
    # Six 30/360 days from January 25 to February 1 on 1102.98.
    assert state.accrued_interest == Decimal("2.21")
    assert state.installments[0].status is InstallmentStatus.PAID
    assert state.next_due_date == date(2025, 3, 1)
    assert state.next_due_amount == Decimal("106.62")


def test_paying_a_month_ahead_covers_next_installment() -> None:
    repayments = [
        Repayment("a", Decimal("106.62"), date(2025, 2, 1)),
        Repayment("b", Decimal("106.62"), date(2025, 2, 2)),
    ]
    state = loan_state(twelve_hundred(), repayments, date(2025, 2, 2))

    assert state.allocations[1].prepayment == Decimal("0.00")
    assert state.installments[1].status is InstallmentStatus.PAID
    assert state.next_due_date == date(2025, 4, 1)


# Statuses, arrears and payoff -----------------------------------------------


def test_unpaid_installment_is_due_on_its_date() -> None:
    state = loan_state(twelve_hundred(), [], date(2025, 2, 1))

    assert state.installments[0].status is InstallmentStatus.DUE
    assert state.arrears == Decimal("0.00")
    assert state.days_past_due == 0
    assert state.next_due_date == date(2025, 2, 1)
    assert state.next_due_amount == Decimal("106.62")


def test_unpaid_installment_is_overdue_next_day() -> None:
    state = loan_state(twelve_hundred(), [], date(2025, 2, 2))

    assert state.installments[0].status is InstallmentStatus.OVERDUE
    assert state.installments[0].days_past_due == 1
    assert state.arrears == Decimal("106.62")
    assert state.days_past_due == 1
    assert state.overdue_interest == Decimal("12.00")


def test_partial_payment_statuses() -> None:
    repayments = [Repayment("a", Decimal("50.00"), date(2025, 1, 20))]
    before = loan_state(twelve_hundred(), repayments, date(2025, 1, 20)).installments[0]
    on_due_date = loan_state(twelve_hundred(), repayments, date(2025, 2, 1)).installments[0]
    after = loan_state(twelve_hundred(), repayments, date(2025, 2, 5))

    assert before.status is InstallmentStatus.PARTIALLY_PAID
    assert before.paid == Decimal("50.00")
    assert before.remaining == Decimal("56.62")
    assert on_due_date.status is InstallmentStatus.DUE
    assert after.installments[0].status is InstallmentStatus.OVERDUE
    assert after.arrears == Decimal("56.62")
    assert after.days_past_due == 4


def test_arrears_and_payoff_after_missed_months() -> None:
    state = loan_state(twelve_hundred(), [], date(2025, 3, 15))

    assert state.arrears == Decimal("213.24")
    assert state.days_past_due == 42
    assert state.overdue_interest == Decimal("24.00")
    # Fourteen 30/360 days of March: 1200.00 * 12% * 14 / 360.
    assert state.accrued_interest == Decimal("29.60")
    assert state.payoff_amount == Decimal("1229.60")
    assert payoff_amount(twelve_hundred(), [], date(2025, 3, 15)) == Decimal("1229.60")


def test_matured_unpaid_loan_keeps_accruing() -> None:
    state = loan_state(twelve_hundred(), [], date(2026, 3, 15))

    # 144.00 over the twelve periods, then 74 days of 30E/360 after maturity: 29.60.
    assert state.payoff_amount == Decimal("1373.60")
    assert state.arrears == Decimal("1373.60")
    assert state.installments[-1].amount_due == Decimal("200.78")
    assert state.days_past_due == 407
    assert state.next_due_date is None


def test_payoff_closes_loan_mid_term() -> None:
    terms = twelve_hundred()
    repayments = on_time_repayments(terms, 3)
    payoff = payoff_amount(terms, repayments, date(2025, 4, 20))
    state = loan_state(terms, [*repayments, Repayment("payoff", payoff, date(2025, 4, 20))], date(2025, 6, 1))

    assert state.is_closed
    assert state.closed_on == date(2025, 4, 20)
    assert state.payoff_amount == Decimal("0.00")
    assert len(state.installments) == 4
    assert {installment.status for installment in state.installments} == {InstallmentStatus.PAID}
    assert state.arrears == Decimal("0.00")


def test_repayment_after_closing_is_rejected() -> None:
    terms = twelve_hundred()
    repayments = [*on_time_repayments(terms, 12), Repayment("late", Decimal("1.00"), date(2026, 2, 1))]

    with pytest.raises(RepaymentExceedsPayoffError, match=r"amount 1\.00 exceeds the payoff amount 0\.00 on 2026-02-01"):
        loan_state(terms, repayments, date(2026, 3, 1))


def test_repayments_after_as_of_are_ignored() -> None:
    terms = twelve_hundred()
    with_future = loan_state(terms, on_time_repayments(terms, 6), date(2025, 3, 1))
    without_future = loan_state(terms, on_time_repayments(terms, 2), date(2025, 3, 1))

    assert with_future == without_future


# Replay order and reversals ----------------------------------------------------


def test_state_ignores_logging_order() -> None:
    terms = twelve_hundred()
    repayments = on_time_repayments(terms, 8) + [
        Repayment("extra-b", Decimal("40.00"), date(2025, 5, 1)),
        Repayment("extra-a", Decimal("60.00"), date(2025, 5, 1), ExtraMode.LOWER_INSTALLMENT),
    ]
    expected = loan_state(terms, repayments, date(2025, 10, 1))
    shuffled = list(repayments)
    random.Random(7).shuffle(shuffled)

    assert loan_state(terms, shuffled, date(2025, 10, 1)) == expected
    assert loan_state(terms, reversed(repayments), date(2025, 10, 1)) == expected


def test_reversed_repayment_is_as_if_never_logged() -> None:
    terms = twelve_hundred()
    kept_repayments = on_time_repayments(terms, 4)
    mistaken = Repayment("mistake", Decimal("300.00"), date(2025, 3, 10))
    logged_then_reversed = [repayment for repayment in [*kept_repayments, mistaken] if repayment.id != mistaken.id]

    assert loan_state(terms, logged_then_reversed, date(2025, 6, 1)) == loan_state(terms, kept_repayments, date(2025, 6, 1))
    assert loan_state(terms, [*kept_repayments, mistaken], date(2025, 6, 1)) != loan_state(terms, kept_repayments, date(2025, 6, 1))


# Prepayments -----------------------------------------------------------------


def test_prepayment_before_due_date_covers_installment_first() -> None:
    state = loan_state(twelve_hundred(), [Repayment("a", Decimal("306.62"), date(2025, 1, 25))], date(2025, 1, 25))
    allocation = state.allocations[0]

    assert allocation.prepayment == Decimal("200.00")
    assert allocation.principal == Decimal("297.02")
    assert state.installments[0].status is InstallmentStatus.PAID
    assert state.installments[1].amount_due == Decimal("106.62")
    assert len(state.installments) < 12


def test_equal_principal_prepayment_shortens_term() -> None:
    terms = LoanTerms(
        principal=Decimal("1200.00"),
        annual_rate=Decimal("12"),
        currency="USD",
        start_date=date(2025, 1, 1),
        installments=12,
        method=Method.EQUAL_PRINCIPAL,
    )
    repayments = [
        Repayment("1-installment", Decimal("112.00"), date(2025, 2, 1)),
        Repayment("2-extra", Decimal("200.00"), date(2025, 2, 1)),
    ]
    state = loan_state(terms, repayments, date(2025, 2, 1))

    assert state.outstanding_principal == Decimal("900.00")
    assert {row.principal for row in state.remaining_schedule} == {Decimal("100.00")}
    assert state.remaining_schedule[-1].number == 10


def test_equal_principal_lower_installment_spreads_rest() -> None:
    terms = LoanTerms(
        principal=Decimal("1200.00"),
        annual_rate=Decimal("12"),
        currency="USD",
        start_date=date(2025, 1, 1),
        installments=12,
        method=Method.EQUAL_PRINCIPAL,
    )
    repayments = [
        Repayment("1-installment", Decimal("112.00"), date(2025, 2, 1)),
        Repayment("2-extra", Decimal("220.00"), date(2025, 2, 1), ExtraMode.LOWER_INSTALLMENT),
    ]
    state = loan_state(terms, repayments, date(2025, 2, 1))

    assert state.outstanding_principal == Decimal("880.00")
    assert {row.principal for row in state.remaining_schedule} == {Decimal("80.00")}
    assert len(state.remaining_schedule) == 11


def test_interest_only_prepayment_lowers_interest_and_balloon() -> None:
    terms = LoanTerms(
        principal=Decimal("1200.00"),
        annual_rate=Decimal("12"),
        currency="USD",
        start_date=date(2025, 1, 1),
        installments=12,
        method=Method.INTEREST_ONLY,
    )
    repayments = [
        Repayment("1-installment", Decimal("12.00"), date(2025, 2, 1)),
        Repayment("2-extra", Decimal("200.00"), date(2025, 2, 1)),
    ]
    state = loan_state(terms, repayments, date(2025, 2, 1))

    assert state.remaining_schedule[0].interest == Decimal("10.00")
    assert state.remaining_schedule[-1].number == 12
    assert state.remaining_schedule[-1].payment == Decimal("1010.00")


# Term changes ------------------------------------------------------------------


def test_rate_cut_reamortizes_remaining_installments() -> None:
    terms = twelve_hundred()
    change = TermChange(date(2025, 7, 1), annual_rate=Decimal("6"))
    state = loan_state(terms, on_time_repayments(terms, 6), date(2025, 7, 1), [change])

    assert state.annual_rate == Decimal("6")
    assert state.outstanding_principal == Decimal("617.89")
    assert [row.payment for row in state.remaining_schedule] == [Decimal("104.79")] * 5 + [Decimal("104.80")]
    assert state.remaining_schedule[0].interest == Decimal("3.09")
    assert [installment.amount_due for installment in state.installments[:6]] == [Decimal("106.62")] * 6


def test_rate_change_mid_period_splits_accrual() -> None:
    terms = twelve_hundred()
    change = TermChange(date(2025, 7, 16), annual_rate=Decimal("6"))
    state = loan_state(terms, on_time_repayments(terms, 6), date(2025, 8, 1), [change])

    # 15 days at 12% (3.09) and 15 days at 6% (1.54) on 617.89.
    assert state.accrued_interest == Decimal("4.63")
    assert state.installments[6].amount_due == Decimal("105.32")


def test_longer_term_lowers_installment() -> None:
    terms = twelve_hundred()
    change = TermChange(date(2025, 7, 1), installments=12)
    state = loan_state(terms, on_time_repayments(terms, 6), date(2025, 7, 1), [change])

    assert len(state.remaining_schedule) == 12
    assert state.remaining_schedule[0].payment == Decimal("54.90")
    assert state.remaining_schedule[-1].due_date == date(2026, 7, 1)


def test_term_change_by_end_date() -> None:
    terms = twelve_hundred()
    change = TermChange(date(2025, 7, 1), end_date=date(2026, 7, 1))
    state = loan_state(terms, on_time_repayments(terms, 6), date(2025, 7, 1), [change])

    assert len(state.remaining_schedule) == 12
    assert state.remaining_schedule[0].payment == Decimal("54.90")


def test_term_change_keeps_history() -> None:
    terms = twelve_hundred()
    before = loan_state(terms, on_time_repayments(terms, 6), date(2025, 7, 1))
    after = loan_state(terms, on_time_repayments(terms, 6), date(2025, 7, 1), [TermChange(date(2025, 7, 1), installments=3)])

    assert after.allocations == before.allocations
    assert after.installments[:6] == before.installments[:6]
    assert len(after.installments) == 9


# Output ------------------------------------------------------------------------


def test_state_json_uses_strings_for_amounts() -> None:
    terms = twelve_hundred()
    document = loan_state(terms, on_time_repayments(terms, 1), date(2025, 2, 1)).to_json()
    text = json.dumps(document)

    assert document["outstanding_principal"] == "1105.38"
    assert document["next_due_date"] == "2025-03-01"
    assert document["installments"][0]["status"] == "paid"  # type: ignore[index]
    assert document["allocations"][0]["interest"] == "12.00"  # type: ignore[index]
    assert "-0.00" not in text


def test_yen_loan_amounts_have_no_decimals() -> None:
    terms = LoanTerms(
        principal=Decimal("120000"),
        annual_rate=Decimal("3"),
        currency="JPY",
        start_date=date(2025, 1, 1),
        installments=12,
    )
    state = loan_state(terms, [], date(2025, 2, 2))

    # 120000 * 3% / 12 for January, then one 30/360 day of February.
    assert state.to_json()["overdue_interest"] == "300"
    assert state.to_json()["accrued_interest"] == "310"
    assert str(state.arrears).isdigit()


def test_rate_change_after_maturity_changes_accrual_only() -> None:
    change = TermChange(date(2026, 2, 1), annual_rate=Decimal("6"))
    state = loan_state(twelve_hundred(), [], date(2026, 3, 15), [change])

    # 144.00 for the term, 12.00 for January at 12%, then 44 days of 30E/360 at 6%.
    assert state.payoff_amount == Decimal("1364.80")
    assert state.arrears == Decimal("1364.80")
    assert len(state.installments) == 12


def test_restructure_after_maturity_spreads_rest() -> None:
    change = TermChange(date(2026, 2, 1), installments=6)
    state = loan_state(twelve_hundred(), [], date(2026, 3, 15), [change])

    assert [installment.amount_due for installment in state.installments[:11]] == [Decimal("106.62")] * 11
    assert state.installments[11].amount_due == Decimal("0.00")
    assert len(state.installments) == 18
    assert state.next_due_date == date(2026, 4, 1)
    assert state.next_due_amount == Decimal("31.61")
    assert state.payoff_amount == Decimal("1373.60")
