"""The demo story through HTTP, with every dashboard figure checked against independent arithmetic.

The student and family loans are paid exactly on schedule (or in exact
halves), so their figures follow from plain Decimal arithmetic and
numpy-financial. The mortgage (one late payment) and the car loan (one
extra payment) are checked against `loansyncro.schedule.loan_state`, run in
this test on the amounts and dates that were logged. That checks the whole
pipeline of events, projections and HTTP, but not the loan maths itself.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy_financial as npf
import pytest

from loansyncro.demo import PAID_MONTHS, demo_loans, run_story, story_start
from loansyncro.schedule import LoanTerms, Repayment, loan_state
from tests.e2e.api_client import ApiClient

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CENT = Decimal("0.01")


def cents(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def story(base_url):
    result = run_story(base_url, lambda _message: None)
    client = ApiClient(base_url)
    client.sign_in(result.email, result.password)
    return result, client


def annuity_payment(principal: str, rate: str, months: int) -> Decimal:
    return cents(npf.pmt(float(rate) / 1200, months, -float(principal)))


def on_schedule(principal: str, rate: str, payment: Decimal, months: int) -> tuple[Decimal, Decimal]:
    """Return (balance, interest paid) after `months` payments on their due dates under 30/360."""
    balance, interest_paid = Decimal(principal), Decimal(0)
    for _ in range(months):
        interest = (balance * Decimal(rate) / 1200).quantize(CENT, rounding=ROUND_HALF_UP)
        interest_paid += interest
        balance -= payment - interest
    return balance, interest_paid


def library_state(terms: dict, repayments: list[dict], as_of: dt.date):
    loan_terms = LoanTerms(
        principal=Decimal(terms["principal"]), annual_rate=Decimal(terms["annual_rate"]), currency=terms["currency"],
        start_date=dt.date.fromisoformat(terms["start_date"]), installments=terms["installments"],
        method=terms.get("method", "annuity"),
    )
    inputs = [
        Repayment(item["id"], Decimal(item["amount"]), dt.date.fromisoformat(item["paid_on"]), item["extra_mode"])
        for item in repayments
    ]
    return loan_state(loan_terms, inputs, as_of)


def test_installments_match_numpy_financial(story):
    result, client = story
    for demo in demo_loans(story_start(dt.date.today())):
        if demo.key == "family":
            continue
        schedule = client.schedule(result.loans[demo.key]["id"])
        first = schedule["installments"][0]
        expected = annuity_payment(demo.terms["principal"], demo.terms["annual_rate"], demo.terms["installments"])
        assert first["planned_payment"] == str(expected), demo.key


def test_dashboard_loans_match_independent_figures(story):
    result, _ = story
    board = result.dashboard
    as_of = dt.date.fromisoformat(board["as_of"])
    rows = {row["name"]: row for row in board["loans"]}
    loans = {demo.key: demo for demo in demo_loans(story_start(as_of))}

    student = rows["Student loan"]
    payment = annuity_payment("18000.00", "3.2", 120)
    balance, interest = on_schedule("18000.00", "3.2", payment, PAID_MONTHS)
    assert student["outstanding_principal"] == str(balance)
    assert student["interest_paid"] == str(interest)
    assert student["principal_paid"] == str(Decimal("18000.00") - balance)
    assert abs(Decimal(str(npf.fv(0.032 / 12, PAID_MONTHS, float(payment), -18000.0))) - balance) < Decimal("0.10")
    assert student["status"] == "on_track"
    assert student["arrears"] == "0.00"

    family = rows["Loan from family"]
    paid = Decimal("250.00") * (PAID_MONTHS - 1) + Decimal("125.00")
    assert family["principal_paid"] == str(paid)
    assert family["outstanding_principal"] == str(Decimal("6000.00") - paid)
    assert family["interest_paid"] == "0.00"
    assert family["arrears"] == "125.00"
    assert family["status"] == "overdue"

    for key, name in (("mortgage", "Home mortgage"), ("car", "Car loan")):
        expected = library_state(loans[key].terms, result.repayments[key], as_of)
        row = rows[name]
        assert row["outstanding_principal"] == str(expected.outstanding_principal), key
        assert row["principal_paid"] == str(expected.principal_paid), key
        assert row["interest_paid"] == str(expected.interest_paid), key
        assert row["arrears"] == str(expected.arrears), key
        assert row["next_due_date"] == expected.next_due_date.isoformat(), key
        assert row["next_due_amount"] == str(expected.next_due_amount), key
        assert row["status"] == "on_track", key
    assert Decimal(rows["Car loan"]["principal_paid"]) > Decimal("2000.00")


def test_dashboard_totals_are_per_currency(story):
    result, _ = story
    board = result.dashboard
    rows = board["loans"]
    totals = {total["currency"]: total for total in board["totals"]}
    assert sorted(totals) == ["EUR", "USD"]
    for currency, total in totals.items():
        mine = [row for row in rows if row["currency"] == currency]
        assert total["loans"] == len(mine)
        assert total["borrowed"] == str(sum(Decimal(row["principal"]) for row in mine))
        assert total["repaid"] == str(sum(Decimal(row["total_paid"]) for row in mine))
        assert total["interest_paid"] == str(sum(Decimal(row["interest_paid"]) for row in mine))
        assert total["outstanding_principal"] == str(sum(Decimal(row["outstanding_principal"]) for row in mine))
        assert total["arrears"] == str(sum(Decimal(row["arrears"]) for row in mine))
    assert totals["USD"]["borrowed"] == "354000.00"
    assert totals["EUR"]["borrowed"] == "18000.00"
    logged = {
        currency: sum(
            Decimal(item["amount"])
            for key, items in result.repayments.items()
            for item in items
            if result.loans[key]["currency"] == currency
        )
        for currency in totals
    }
    assert totals["USD"]["repaid"] == str(logged["USD"])
    assert totals["EUR"]["repaid"] == str(logged["EUR"])


def test_upcoming_overdue_and_charts(story):
    result, _ = story
    board = result.dashboard
    as_of = dt.date.fromisoformat(board["as_of"])
    upcoming = board["upcoming"]["installments"]
    assert {item["name"] for item in upcoming} == {"Home mortgage", "Car loan", "Student loan", "Loan from family"}
    for item in upcoming:
        assert as_of <= dt.date.fromisoformat(item["due_date"]) <= as_of + dt.timedelta(days=30)
    assert [item["name"] for item in board["overdue"]] == ["Loan from family"]
    last_due = dt.date.fromisoformat(result.repayments["family"][-1]["paid_on"])
    assert board["overdue"][0]["days_past_due"] == (as_of - last_due).days

    months = board["charts"]["payments_by_month"]
    assert sum(Decimal(item["total"]) for item in months if item["currency"] == "EUR") == sum(
        Decimal(item["amount"]) for item in result.repayments["student"]
    )
    for item in months:
        assert Decimal(item["principal"]) + Decimal(item["interest"]) == Decimal(item["total"])
    series = {item["name"]: item for item in board["charts"]["balance_over_time"]}
    assert series["Home mortgage"]["actual"][0]["balance"] == "320000.00"
    assert len(series["Home mortgage"]["actual"]) == PAID_MONTHS + 2  # start, each payment, today


def test_next_read_reflects_repayment_and_reversal(story):
    result, client = story
    loan_id = result.loans["student"]["id"]
    before = client.dashboard()
    eur = next(total for total in before["totals"] if total["currency"] == "EUR")
    logged = client.log_repayment(loan_id, amount="100.00", paid_on=before["as_of"])
    after = client.dashboard()
    eur_after = next(total for total in after["totals"] if total["currency"] == "EUR")
    assert Decimal(eur_after["repaid"]) == Decimal(eur["repaid"]) + Decimal("100.00")
    client.reverse_repayment(loan_id, logged["id"], "test payment")
    reverted = client.dashboard()
    assert next(total for total in reverted["totals"] if total["currency"] == "EUR")["repaid"] == eur["repaid"]
