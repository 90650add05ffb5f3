"""Properties of the loan state over random loans and random repayment histories."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loansyncro.schedule import (
    DayCount,
    ExtraMode,
    Frequency,
    LoanState,
    LoanTerms,
    LoanValidationError,
    Method,
    NegativeAmortizationError,
    Repayment,
    build_schedule,
    loan_state,
)

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def loan_terms(draw: st.DrawFn) -> LoanTerms:
    """Draw valid USD loans of up to 120 installments."""
    method = draw(st.sampled_from(list(Method)))
    rate = Decimal(0) if method is Method.ZERO_INTEREST else Decimal(draw(st.integers(0, 36_000))).scaleb(-3)
    frequency = draw(st.sampled_from(list(Frequency)))
    start = date(2010, 1, 1) + timedelta(days=draw(st.integers(0, 5_000)))
    first_payment = None
    if frequency is not Frequency.SEMI_MONTHLY and draw(st.booleans()):
        first_payment = start + timedelta(days=draw(st.integers(1, 45)))
    return LoanTerms(
        principal=Decimal(draw(st.integers(100, 50_000_000))).scaleb(-2),
        annual_rate=rate,
        currency="USD",
        start_date=start,
        first_payment_date=first_payment,
        installments=draw(st.integers(1, 120)),
        frequency=frequency,
        method=method,
        day_count=draw(st.sampled_from(list(DayCount))),
    )


def schedule_or_skip(terms: LoanTerms) -> list:  # type: ignore[type-arg]
    try:
        return list(build_schedule(terms).rows)
    except NegativeAmortizationError:
        assume(False)
        raise


@PROPERTY_SETTINGS
@given(loan_terms())
def test_on_time_payments_leave_nothing_owed(terms: LoanTerms) -> None:
    rows = schedule_or_skip(terms)
    # An interest-only loan at 0% has installments of 0.00 before the balloon, which are not repayments.
    repayments = [Repayment(f"r{row.number:04d}", row.payment, row.due_date) for row in rows if row.payment > 0]
    state = loan_state(terms, repayments, rows[-1].due_date)

    assert state.is_closed
    assert state.outstanding_principal == 0
    assert state.payoff_amount == 0
    assert state.arrears == 0
    assert state.interest_paid == sum(row.interest for row in rows)
    paid_rows = [row for row in rows if row.payment > 0]
    assert [allocation.interest for allocation in state.allocations] == [row.interest for row in paid_rows]
    assert [allocation.balance_after for allocation in state.allocations] == [row.balance for row in paid_rows]
    assert all(installment.status.value == "paid" for installment in state.installments)


@st.composite
def loan_with_history(draw: st.DrawFn) -> tuple[LoanTerms, list[Repayment], date]:
    """Draw a loan and repayments on random dates, some late, some early, some prepaying."""
    terms = draw(loan_terms())
    rows = schedule_or_skip(terms)
    last_due = rows[-1].due_date
    span = (last_due - terms.start_date).days + 60
    repayments: list[Repayment] = []
    for index in range(draw(st.integers(0, 25))):
        paid_on = terms.start_date + timedelta(days=draw(st.integers(0, span)))
        reference = rows[min(index, len(rows) - 1)].payment
        factor = Decimal(draw(st.integers(1, 300))) / 100
        amount = max(Decimal("0.01"), (reference * factor).quantize(Decimal("0.01")))
        mode = draw(st.sampled_from(list(ExtraMode)))
        repayments.append(Repayment(f"id-{draw(st.integers(0, 10**6)):07d}-{index}", amount, paid_on, mode))
    as_of = terms.start_date + timedelta(days=draw(st.integers(0, span + 30)))
    return terms, repayments, as_of


def state_or_error(terms: LoanTerms, repayments: list[Repayment], as_of: date) -> LoanState | str:
    try:
        return loan_state(terms, repayments, as_of)
    except LoanValidationError as err:
        return f"{type(err).__name__}: {err}"


@PROPERTY_SETTINGS
@given(loan_with_history(), st.randoms(use_true_random=False))
def test_logging_order_does_not_change_state(
    history: tuple[LoanTerms, list[Repayment], date], random_generator: object
) -> None:
    terms, repayments, as_of = history
    shuffled = list(repayments)
    random_generator.shuffle(shuffled)  # type: ignore[attr-defined]

    assert state_or_error(terms, shuffled, as_of) == state_or_error(terms, repayments, as_of)


@PROPERTY_SETTINGS
@given(loan_with_history())
def test_state_totals_reconcile(history: tuple[LoanTerms, list[Repayment], date]) -> None:
    terms, repayments, as_of = history
    state = state_or_error(terms, repayments, as_of)
    assume(isinstance(state, LoanState))
    assert isinstance(state, LoanState)
    applied = [repayment for repayment in repayments if repayment.paid_on <= as_of]

    assert state.total_paid == sum((repayment.amount for repayment in applied), Decimal("0.00"))
    assert state.principal_paid + state.outstanding_principal == terms.principal
    assert state.principal_paid == sum((allocation.principal for allocation in state.allocations), Decimal("0.00"))
    assert state.interest_paid == sum((allocation.interest for allocation in state.allocations), Decimal("0.00"))
    assert state.outstanding_principal >= 0
    assert state.accrued_interest >= 0
    assert state.payoff_amount == state.outstanding_principal + state.accrued_interest
    assert 0 <= state.arrears
    assert state.days_past_due >= 0
    for installment in state.installments:
        assert installment.paid >= 0
        assert installment.remaining >= 0
        assert installment.paid + installment.remaining == installment.amount_due
    for allocation in state.allocations:
        assert allocation.amount == allocation.interest + allocation.principal
        assert allocation.balance_after >= 0
    text = str(state.to_json())
    assert "'-0.00'" not in text


@PROPERTY_SETTINGS
@given(loan_terms(), st.integers(0, 119), st.integers(1, 90), st.sampled_from(list(ExtraMode)))
def test_paying_replanned_schedule_closes_loan(
    terms: LoanTerms, paid_count: int, prepaid_percent: int, mode: ExtraMode
) -> None:
    rows = schedule_or_skip(terms)
    assume(paid_count < len(rows) - 1)
    repayments = [Repayment(f"a{row.number:04d}", row.payment, row.due_date) for row in rows[: paid_count + 1]]
    prepaid_on = rows[paid_count].due_date
    prepayment = (rows[paid_count].balance * prepaid_percent / 100).quantize(Decimal("0.01"))
    assume(prepayment > 0)
    repayments = [repayment for repayment in repayments if repayment.amount > 0]
    repayments.append(Repayment("b-prepayment", prepayment, prepaid_on, mode))
    plan = loan_state(terms, repayments, prepaid_on).remaining_schedule
    repayments += [Repayment(f"c{row.number:04d}", row.payment, row.due_date) for row in plan if row.payment > 0]
    state = loan_state(terms, repayments, plan[-1].due_date)

    assert state.is_closed
    assert state.payoff_amount == 0
    assert len(state.installments) == plan[-1].number
    assert plan[-1].number <= terms.number_of_installments
