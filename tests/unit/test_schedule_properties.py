"""Properties of every valid schedule, and a cross-check of annuities against numpy-financial."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import numpy_financial as npf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loansyncro.schedule import (
    DayCount,
    Frequency,
    LoanTerms,
    Method,
    NegativeAmortizationError,
    annuity_payment,
    build_schedule,
)

PROPERTY_SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def loan_terms(draw: st.DrawFn) -> LoanTerms:
    """Draw valid loan terms across frequencies, methods, day counts and first payment dates."""
    currency = draw(st.sampled_from(["USD", "JPY", "BHD"]))
    places = {"USD": 2, "JPY": 0, "BHD": 3}[currency]
    principal = Decimal(draw(st.integers(min_value=1, max_value=10**9))).scaleb(-places)
    method = draw(st.sampled_from(list(Method)))
    rate = Decimal(0) if method is Method.ZERO_INTEREST else Decimal(draw(st.integers(0, 40_000))).scaleb(-3)
    frequency = draw(st.sampled_from(list(Frequency)))
    start = date(2000, 1, 1) + timedelta(days=draw(st.integers(0, 15_000)))
    first_payment = None
    if frequency is not Frequency.SEMI_MONTHLY and draw(st.booleans()):
        first_payment = start + timedelta(days=draw(st.integers(1, 60)))
    return LoanTerms(
        principal=principal,
        annual_rate=rate,
        currency=currency,
        start_date=start,
        first_payment_date=first_payment,
        installments=draw(st.integers(1, 400)),
        frequency=frequency,
        method=method,
        day_count=draw(st.sampled_from(list(DayCount))),
        rounding=draw(st.sampled_from(["ROUND_HALF_UP", "ROUND_HALF_EVEN"])),
    )


@PROPERTY_SETTINGS
@given(loan_terms())
def test_schedule_invariants_hold_for_any_loan(terms: LoanTerms) -> None:
    try:
        schedule = build_schedule(terms)
    except NegativeAmortizationError:
        # A long first period or a high rate with actual day counts can exceed the
        # installment; that loan is reported, not scheduled.
        assume(False)
        raise
    rows = schedule.rows

    assert 1 <= len(rows) <= terms.number_of_installments
    assert sum(row.principal for row in rows) == terms.principal
    assert rows[-1].balance == 0
    assert schedule.total_payment == schedule.total_interest + terms.principal
    previous_balance = terms.principal
    previous_due = terms.start_date
    for row in rows:
        assert row.payment == row.interest + row.principal
        assert row.interest >= 0
        assert row.principal >= 0
        assert 0 <= row.balance <= previous_balance
        assert row.balance == previous_balance - row.principal
        assert row.due_date > previous_due
        previous_balance = row.balance
        previous_due = row.due_date


@PROPERTY_SETTINGS
@given(loan_terms())
def test_amounts_have_currency_decimals(terms: LoanTerms) -> None:
    try:
        rows = build_schedule(terms).rows
    except NegativeAmortizationError:
        assume(False)
        raise
    places = {"USD": 2, "JPY": 0, "BHD": 3}[terms.currency]

    for row in rows:
        for amount in (row.payment, row.interest, row.principal, row.balance):
            assert amount.as_tuple().exponent == -places
            assert not amount.is_signed()


def exact_balance_error_bound(periodic_rate: float, rows: int) -> float:
    """Return how far a cent-rounded balance can drift from the exact one after ``rows`` rows.

    Each row adds at most half a cent from rounding its interest and half a cent
    from the rounded installment, and earlier drift grows with the interest.
    """
    if periodic_rate == 0:
        return 0.01 * rows
    return 0.01 * ((1 + periodic_rate) ** rows - 1) / periodic_rate


@settings(max_examples=120, deadline=None)
@given(
    principal_cents=st.integers(min_value=10_000, max_value=100_000_000),
    rate_thousandths=st.integers(min_value=1, max_value=30_000),
    count=st.integers(min_value=1, max_value=360),
)
def test_annuity_matches_numpy_financial(principal_cents: int, rate_thousandths: int, count: int) -> None:
    principal = Decimal(principal_cents).scaleb(-2)
    annual_rate = Decimal(rate_thousandths).scaleb(-3)
    terms = LoanTerms(
        principal=principal,
        annual_rate=annual_rate,
        currency="USD",
        start_date=date(2024, 1, 1),
        installments=count,
    )
    rows = build_schedule(terms).rows
    periodic_rate = float(annual_rate) / 1200
    periods = np.arange(1, count + 1)
    expected_payment = -npf.pmt(periodic_rate, count, float(principal))
    expected_interest = -npf.ipmt(periodic_rate, periods, count, float(principal))
    expected_principal = -npf.ppmt(periodic_rate, periods, count, float(principal))

    payment = annuity_payment(principal, annual_rate, 12, count, "USD", "ROUND_HALF_UP")
    assert abs(float(payment) - expected_payment) <= 0.005 + 1e-6
    for index, row in enumerate(rows):
        drift = exact_balance_error_bound(periodic_rate, index)
        tolerance = 0.01 + periodic_rate * drift + 1e-6
        assert abs(float(row.interest) - expected_interest[index]) <= tolerance, row
        assert abs(float(row.principal) - expected_principal[index]) <= tolerance + drift, row


def test_thirty_year_split_tracks_numpy_financial_closely() -> None:
    terms = LoanTerms(
        principal=Decimal("250000.00"),
        annual_rate=Decimal("6"),
        currency="USD",
        start_date=date(2024, 1, 1),
        installments=360,
    )
    rows = build_schedule(terms).rows
    periods = np.arange(1, 361)
    expected_interest = -npf.ipmt(0.005, periods, 360, 250000.0)
    expected_principal = -npf.ppmt(0.005, periods, 360, 250000.0)

    interest_gap = max(abs(float(row.interest) - expected_interest[index]) for index, row in enumerate(rows[:-1]))
    principal_gap = max(abs(float(row.principal) - expected_principal[index]) for index, row in enumerate(rows[:-1]))

    # The rounded installment is 1498.88 against 1498.8763, so the rows drift
    # apart by at most a few cents over 30 years.
    assert interest_gap < 0.05
    assert principal_gap < 0.05
