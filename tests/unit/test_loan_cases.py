"""Published loan figures that the schedule and the repayment state must reproduce to the cent.

Unless a test states otherwise: nominal annual rate divided by the periods per
year, interest rounded half-up to the cent each period, and the last
installment absorbing the rounding residue.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from loansyncro.money import format_amount
from loansyncro.schedule import (
    DayCount,
    ExtraMode,
    Frequency,
    InstallmentStatus,
    LoanTerms,
    Method,
    NegativeAmortizationError,
    Repayment,
    annuity_payment,
    build_schedule,
    interest_between,
    loan_state,
    local_today,
)


def monthly_terms(principal: str, annual_rate: str, installments: int, **overrides: object) -> LoanTerms:
    options: dict[str, object] = {
        "principal": Decimal(principal),
        "annual_rate": Decimal(annual_rate),
        "currency": "USD",
        "start_date": date(2024, 1, 1),
        "installments": installments,
    }
    options.update(overrides)
    return LoanTerms(**options)  # type: ignore[arg-type]


def amounts(values: list[Decimal]) -> list[str]:
    return [format_amount(value) for value in values]


# Zero interest ------------------------------------------------------------


def test_zero_rate_last_installment_absorbs_cents() -> None:
    schedule = build_schedule(monthly_terms("100000.00", "0", 480))

    assert len(schedule.rows) == 480
    assert {row.payment for row in schedule.rows[:479]} == {Decimal("208.33")}
    assert schedule.rows[-1].payment == Decimal("209.93")
    assert schedule.total_interest == Decimal("0.00")
    assert schedule.rows[-1].balance == Decimal("0.00")


def test_zero_rate_even_split_has_equal_rows() -> None:
    schedule = build_schedule(monthly_terms("36000.00", "0", 36))

    assert {row.payment for row in schedule.rows} == {Decimal("1000.00")}


def test_zero_interest_method_matches_zero_rate_annuity() -> None:
    zero_method = build_schedule(monthly_terms("100000.00", "0", 480, method=Method.ZERO_INTEREST))
    zero_rate = build_schedule(monthly_terms("100000.00", "0", 480))

    assert zero_method.rows == zero_rate.rows


# Installment amount --------------------------------------------------------


def test_annuity_payment_for_fifteen_year_loan() -> None:
    payment = annuity_payment(Decimal("200000"), Decimal("7.5"), 12, 180, "USD", "ROUND_HALF_UP")

    assert payment == Decimal("1854.02")


def test_annuity_payment_at_ten_percent_per_period() -> None:
    # 10% per monthly period is a nominal annual rate of 120%, above the loan limit of 100%,
    # so the formula is checked directly with one period per year.
    payment = annuity_payment(Decimal("2000"), Decimal("10"), 1, 12, "USD", "ROUND_HALF_UP")

    assert payment == Decimal("293.53")


def test_first_row_splits_interest_before_principal() -> None:
    schedule = build_schedule(monthly_terms("250000.00", "6", 360))
    first = schedule.rows[0]

    assert first.payment == Decimal("1498.88")
    assert first.interest == Decimal("1250.00")
    assert first.principal == Decimal("248.88")


def test_interest_and_principal_add_up_every_row() -> None:
    schedule = build_schedule(monthly_terms("300000.00", "6", 360))
    first = schedule.rows[0]

    assert (first.payment, first.interest, first.principal) == (
        Decimal("1798.65"),
        Decimal("1500.00"),
        Decimal("298.65"),
    )
    for row in schedule.rows:
        assert row.interest + row.principal == row.payment


def test_installment_rounded_to_cents_not_units() -> None:
    schedule = build_schedule(monthly_terms("100000.00", "9.99", 36))

    # Rounded per period, the 36th row happens to need exactly the regular installment.
    assert {row.payment for row in schedule.rows} == {Decimal("3226.25")}
    assert schedule.total_interest == Decimal("16145.00")
    assert schedule.rows[-1].balance == Decimal("0.00")


def test_installment_rounded_up_to_unit_shrinks_last_row() -> None:
    schedule = build_schedule(monthly_terms("100000.00", "9.99", 36, installment_amount=Decimal("3227")))

    assert len(schedule.rows) == 36
    assert schedule.rows[-1].payment == Decimal("3195.66")


def test_small_loan_keeps_twelve_rows() -> None:
    schedule = build_schedule(monthly_terms("130.00", "20", 12))

    assert len(schedule.rows) == 12
    assert {row.payment for row in schedule.rows[:11]} == {Decimal("12.04")}
    assert schedule.rows[-1].payment == Decimal("12.07")
    assert schedule.total_interest == Decimal("14.51")


def test_larger_fixed_installment_ends_loan_early() -> None:
    schedule = build_schedule(monthly_terms("130.00", "20", 12, installment_amount=Decimal("13.00")))

    assert len(schedule.rows) == 12
    assert {row.payment for row in schedule.rows[:11]} == {Decimal("13.00")}
    assert schedule.rows[-1].payment == Decimal("0.42")


def test_last_payment_collects_cent_residual() -> None:
    schedule = build_schedule(monthly_terms("100000.00", "4.5", 60))
    regular_total = sum(row.payment for row in schedule.rows[:59])
    balance_before_last = schedule.rows[58].balance

    assert {row.payment for row in schedule.rows[:59]} == {Decimal("1864.30")}
    assert schedule.rows[-1].payment == Decimal("1864.43")
    assert schedule.rows[-1].payment - Decimal("1864.30") == Decimal("0.13")
    assert regular_total + schedule.rows[-1].payment == schedule.total_payment
    assert balance_before_last + schedule.rows[-1].interest == Decimal("1864.43")


# Published schedules ---------------------------------------------------------


def test_six_month_schedule_at_twelve_percent() -> None:
    schedule = build_schedule(monthly_terms("100.00", "12", 6, day_count=DayCount.THIRTY_360))

    assert amounts([row.payment for row in schedule.rows]) == ["17.25"] * 5 + ["17.28"]
    assert amounts([row.interest for row in schedule.rows]) == ["1.00", "0.84", "0.67", "0.51", "0.34", "0.17"]
    assert amounts([row.balance for row in schedule.rows]) == ["83.75", "67.34", "50.76", "34.02", "17.11", "0.00"]
    assert schedule.total_interest == Decimal("3.53")


def test_six_month_schedule_at_non_round_rate() -> None:
    schedule = build_schedule(monthly_terms("100.00", "9.4822", 6, day_count=DayCount.THIRTY_360))

    assert {row.payment for row in schedule.rows} == {Decimal("17.13")}
    assert amounts([row.interest for row in schedule.rows]) == ["0.79", "0.66", "0.53", "0.40", "0.27", "0.13"]
    assert amounts([row.principal for row in schedule.rows]) == [
        "16.34",
        "16.47",
        "16.60",
        "16.73",
        "16.86",
        "17.00",
    ]
    assert amounts([row.balance for row in schedule.rows]) == ["83.66", "67.19", "50.59", "33.86", "17.00", "0.00"]


def test_eighteen_month_split_rounds_interest_each_row() -> None:
    schedule = build_schedule(monthly_terms("2000.00", "5", 18))
    first, second = schedule.rows[:2]

    assert first.payment == Decimal("115.56")
    assert (first.interest, first.principal, first.balance) == (
        Decimal("8.33"),
        Decimal("107.23"),
        Decimal("1892.77"),
    )
    assert (second.interest, second.principal, second.balance) == (
        Decimal("7.89"),
        Decimal("107.67"),
        Decimal("1785.10"),
    )


# Day counts ------------------------------------------------------------------


def test_actual_actual_uses_366_days_in_leap_year() -> None:
    january = interest_between(
        Decimal("8376.25"), Decimal("12"), date(2024, 1, 12), date(2024, 2, 12), DayCount.ACTUAL_ACTUAL, "USD"
    )
    february = interest_between(
        Decimal("6735.83"), Decimal("12"), date(2024, 2, 12), date(2024, 3, 12), DayCount.ACTUAL_ACTUAL, "USD"
    )

    assert january == Decimal("85.14")
    assert february == Decimal("64.05")


def test_actual_365_differs_in_leap_year() -> None:
    january = interest_between(
        Decimal("8376.25"), Decimal("12"), date(2024, 1, 12), date(2024, 2, 12), DayCount.ACTUAL_365, "USD"
    )
    february = interest_between(
        Decimal("6735.83"), Decimal("12"), date(2024, 2, 12), date(2024, 3, 12), DayCount.ACTUAL_365, "USD"
    )

    assert january == Decimal("85.37")
    assert february == Decimal("64.22")


def test_actual_actual_schedule_periods_in_leap_year() -> None:
    january = build_schedule(
        LoanTerms(
            principal=Decimal("8376.25"),
            annual_rate=Decimal("12"),
            currency="USD",
            start_date=date(2024, 1, 12),
            installments=6,
            day_count=DayCount.ACTUAL_ACTUAL,
        )
    )
    february = build_schedule(
        LoanTerms(
            principal=Decimal("6735.83"),
            annual_rate=Decimal("12"),
            currency="USD",
            start_date=date(2024, 2, 12),
            installments=6,
            day_count=DayCount.ACTUAL_ACTUAL,
        )
    )

    assert january.rows[0].interest == Decimal("85.14")
    assert february.rows[0].interest == Decimal("64.05")


@pytest.mark.parametrize(
    ("day_count", "expected"),
    [
        (DayCount.ACTUAL_365, "849.32"),
        (DayCount.ACTUAL_360, "861.11"),
        (DayCount.THIRTY_360, "833.33"),
        (DayCount.ACTUAL_ACTUAL, "846.99"),
    ],
)
def test_day_count_divisor_for_31_days(day_count: DayCount, expected: str) -> None:
    interest = interest_between(
        Decimal("100000.00"), Decimal("10"), date(2024, 1, 1), date(2024, 2, 1), day_count, "USD"
    )

    assert interest == Decimal(expected)


@pytest.mark.parametrize(
    ("day_count", "expected"),
    [
        (DayCount.ACTUAL_365, "849.32"),
        (DayCount.ACTUAL_360, "861.11"),
        (DayCount.THIRTY_360, "833.33"),
        (DayCount.ACTUAL_ACTUAL, "846.99"),
    ],
)
def test_first_period_interest_follows_day_count(day_count: DayCount, expected: str) -> None:
    schedule = build_schedule(monthly_terms("100000.00", "10", 12, day_count=day_count))

    assert schedule.rows[0].interest == Decimal(expected)


# Due dates -----------------------------------------------------------------


def test_month_end_due_dates_roll_from_anchor() -> None:
    terms = LoanTerms(
        principal=Decimal("600.00"),
        annual_rate=Decimal("5"),
        currency="USD",
        start_date=date(2020, 12, 31),
        installments=6,
    )
    due_dates = [row.due_date.isoformat() for row in build_schedule(terms).rows]

    assert due_dates == ["2021-01-31", "2021-02-28", "2021-03-31", "2021-04-30", "2021-05-31", "2021-06-30"]


def test_month_end_due_dates_in_leap_year() -> None:
    terms = LoanTerms(
        principal=Decimal("300.00"),
        annual_rate=Decimal("5"),
        currency="USD",
        start_date=date(2023, 12, 15),
        first_payment_date=date(2024, 1, 31),
        installments=3,
    )
    due_dates = [row.due_date.isoformat() for row in build_schedule(terms).rows]

    assert due_dates == ["2024-01-31", "2024-02-29", "2024-03-31"]


def test_first_payment_date_anchors_due_dates() -> None:
    six = LoanTerms(
        principal=Decimal("1200.00"),
        annual_rate=Decimal("6"),
        currency="USD",
        start_date=date(2025, 1, 15),
        first_payment_date=date(2025, 2, 1),
        installments=6,
    )
    twelve = LoanTerms(
        principal=Decimal("1200.00"),
        annual_rate=Decimal("6"),
        currency="USD",
        start_date=date(2025, 1, 15),
        first_payment_date=date(2025, 2, 1),
        installments=12,
    )
    six_dates = [row.due_date.isoformat() for row in build_schedule(six).rows]
    twelve_rows = build_schedule(twelve).rows

    assert six_dates == ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01", "2025-07-01"]
    assert len(twelve_rows) == 12
    assert twelve_rows[-1].due_date == date(2026, 1, 1)
    assert twelve_rows[0].due_date != date(2025, 1, 15)


# Negative amortization -----------------------------------------------------


def test_payment_below_interest_is_rejected() -> None:
    terms = monthly_terms("10000.00", "24", 36, installment_amount=Decimal("150.00"))

    with pytest.raises(
        NegativeAmortizationError,
        match=r"installment 150\.00 does not cover the interest 200\.00 of installment 1.*"
        r"grow to 10050\.00.*minimum amortizing payment is 200\.01",
    ) as caught:
        build_schedule(terms)
    assert caught.value.field == "installment_amount"
    assert caught.value.minimum_payment == Decimal("200.01")
    assert caught.value.minimum_payment > Decimal("200.00")


def test_interest_only_balance_constant_for_1000_periods() -> None:
    terms = LoanTerms(
        principal=Decimal("100.00"),
        annual_rate=Decimal("10"),
        currency="USD",
        start_date=date(2000, 1, 1),
        installments=1000,
        frequency=Frequency.ANNUAL,
        method=Method.INTEREST_ONLY,
    )
    rows = build_schedule(terms).rows

    assert len(rows) == 1000
    assert {row.interest for row in rows} == {Decimal("10.00")}
    assert {row.balance for row in rows[:999]} == {Decimal("100.00")}
    assert rows[-1].payment == Decimal("110.00")
    assert rows[-1].balance == Decimal("0.00")


def test_interest_only_payments_keep_balance_at_period_1000() -> None:
    terms = LoanTerms(
        principal=Decimal("100.00"),
        annual_rate=Decimal("10"),
        currency="USD",
        start_date=date(2000, 1, 1),
        installments=1001,
        frequency=Frequency.ANNUAL,
        method=Method.INTEREST_ONLY,
    )
    rows = build_schedule(terms).rows
    repayments = [Repayment(f"r{row.number:04d}", row.payment, row.due_date) for row in rows[:1000]]
    state = loan_state(terms, repayments, rows[999].due_date)

    assert rows[999].balance == Decimal("100.00")
    assert state.outstanding_principal == Decimal("100.00")
    assert state.accrued_interest == Decimal("0.00")
    assert state.interest_paid == Decimal("10000.00")


def test_fixed_installment_equal_to_interest_keeps_balance() -> None:
    terms = LoanTerms(
        principal=Decimal("100.00"),
        annual_rate=Decimal("10"),
        currency="USD",
        start_date=date(2000, 1, 1),
        installments=1000,
        frequency=Frequency.ANNUAL,
        installment_amount=Decimal("10.00"),
    )
    rows = build_schedule(terms).rows

    assert {row.balance for row in rows[:999]} == {Decimal("100.00")}
    assert rows[-1].payment == Decimal("110.00")


# Repayments ----------------------------------------------------------------


def test_two_repayments_clear_balance_without_negative_zero() -> None:
    terms = LoanTerms(
        principal=Decimal("506.22"),
        annual_rate=Decimal("0"),
        currency="USD",
        start_date=date(2025, 1, 1),
        installments=1,
        method=Method.ZERO_INTEREST,
    )
    repayments = [
        Repayment("first", Decimal("324.71"), date(2025, 1, 20)),
        Repayment("second", Decimal("181.51"), date(2025, 1, 25)),
    ]
    state = loan_state(terms, repayments, date(2025, 3, 1))

    assert state.outstanding_principal == Decimal("0.00")
    assert format_amount(state.outstanding_principal) == "0.00"
    assert state.to_json()["payoff_amount"] == "0.00"
    assert state.is_closed
    assert state.installments[0].status is InstallmentStatus.PAID
    assert "'-0.00'" not in str(state.to_json())


def ten_thousand_at_twelve_percent() -> LoanTerms:
    return LoanTerms(
        principal=Decimal("10000.00"),
        annual_rate=Decimal("12"),
        currency="USD",
        start_date=date(2025, 1, 1),
        installments=12,
    )


def test_no_prepayment_total_interest() -> None:
    schedule = build_schedule(ten_thousand_at_twelve_percent())

    assert schedule.rows[0].payment == Decimal("888.49")
    assert schedule.total_interest == Decimal("661.86")


def prepaid_state(mode: ExtraMode) -> tuple[LoanTerms, list[Repayment]]:
    terms = ten_thousand_at_twelve_percent()
    repayments = [
        Repayment("installment-01", Decimal("888.49"), date(2025, 2, 1)),
        Repayment("prepayment", Decimal("2000.00"), date(2025, 2, 1), mode),
    ]
    return terms, repayments


def pay_remaining_plan(terms: LoanTerms, repayments: list[Repayment], as_of: date) -> list[Repayment]:
    state = loan_state(terms, repayments, as_of)
    return repayments + [
        Repayment(f"installment-{row.number:02d}", row.payment, row.due_date) for row in state.remaining_schedule
    ]


def test_extra_payment_goes_to_principal() -> None:
    terms, repayments = prepaid_state(ExtraMode.SHORTEN_TERM)
    state = loan_state(terms, repayments, date(2025, 2, 1))
    extra = state.allocations[1]

    assert extra.principal == Decimal("2000.00")
    assert extra.interest == Decimal("0.00")
    assert extra.prepayment == Decimal("2000.00")
    assert state.total_paid == Decimal("2888.49")
    assert state.interest_paid == Decimal("100.00")
    assert state.outstanding_principal == Decimal("7211.51")


def test_shorten_term_keeps_installment_ends_at_ten() -> None:
    terms, repayments = prepaid_state(ExtraMode.SHORTEN_TERM)
    plan = loan_state(terms, repayments, date(2025, 2, 1)).remaining_schedule
    final = loan_state(terms, pay_remaining_plan(terms, repayments, date(2025, 2, 1)), date(2026, 1, 1))

    assert {row.payment for row in plan[:-1]} == {Decimal("888.49")}
    assert plan[-1].number == 10
    assert plan[-1].payment == Decimal("451.78")
    assert final.closed_on == date(2025, 11, 1)
    assert final.interest_paid == Decimal("448.19")
    assert len(final.installments) == 10


def test_lower_installment_reamortizes_remaining_eleven() -> None:
    terms, repayments = prepaid_state(ExtraMode.LOWER_INSTALLMENT)
    plan = loan_state(terms, repayments, date(2025, 2, 1)).remaining_schedule
    final = loan_state(terms, pay_remaining_plan(terms, repayments, date(2025, 2, 1)), date(2026, 1, 1))

    assert len(plan) == 11
    assert {row.payment for row in plan} == {Decimal("695.58")}
    assert final.closed_on == date(2026, 1, 1)
    assert final.interest_paid == Decimal("539.87")


# Local "today" -------------------------------------------------------------


def due_mid_january() -> LoanTerms:
    return LoanTerms(
        principal=Decimal("1000.00"),
        annual_rate=Decimal("12"),
        currency="USD",
        start_date=date(2024, 12, 15),
        installments=3,
    )


def test_evening_in_los_angeles_is_still_due_today() -> None:
    today = local_today("America/Los_Angeles", datetime(2025, 1, 16, 1, 30, tzinfo=timezone.utc))
    first = loan_state(due_mid_january(), [], today).installments[0]

    assert today == date(2025, 1, 15)
    assert first.status is InstallmentStatus.DUE
    assert first.days_past_due == 0


def test_after_midnight_in_los_angeles_is_overdue() -> None:
    today = local_today("America/Los_Angeles", datetime(2025, 1, 16, 8, 30, tzinfo=timezone.utc))
    state = loan_state(due_mid_january(), [], today)

    assert today == date(2025, 1, 16)
    assert state.installments[0].status is InstallmentStatus.OVERDUE
    assert state.days_past_due == 1


def test_after_midnight_in_tokyo_is_overdue() -> None:
    today = local_today("Asia/Tokyo", datetime(2025, 1, 15, 16, 0, tzinfo=timezone.utc))
    state = loan_state(due_mid_january(), [], today)

    assert today == date(2025, 1, 16)
    assert state.installments[0].status is InstallmentStatus.OVERDUE
    assert state.days_past_due == 1
