"""Ledger projections against the real event store: figures, catch-up, replay, history."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from loansyncro.eventstore import EventStore
from loansyncro.schedule import LoanTerms, Repayment, loan_state
from services.ledger import tables
from services.ledger.projection import build_follower
from services.ledger.queries import Reader, parse_dashboard_filter
from services.ledger.replay import replay
from services.loans.commands import LoanCommands
from services.repayments.commands import RepaymentCommands

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ledger")]


@pytest.fixture
def store(engine) -> EventStore:
    return EventStore(engine)


@pytest.fixture
def reader(engine) -> Reader:
    return Reader(engine, build_follower(engine))


def car_loan(loans: LoanCommands, user: str, currency: str = "EUR") -> dict:
    return loans.create_loan(
        user,
        {
            "name": f"Car {currency}",
            "loan_type": "auto",
            "currency": currency,
            "principal": "12000.00",
            "annual_rate": "4.9",
            "start_date": "2024-01-15",
            "installments": 60,
        },
    )


def expected_state(repayments: list[tuple[str, str]], as_of: dt.date):
    terms = LoanTerms(
        principal=Decimal("12000.00"), annual_rate=Decimal("4.9"), currency="EUR",
        start_date=dt.date(2024, 1, 15), installments=60,
    )
    inputs = [Repayment(str(i), Decimal(amount), dt.date.fromisoformat(day)) for i, (amount, day) in enumerate(repayments)]
    return loan_state(terms, inputs, as_of)


def test_read_reflects_writes_without_messages(store, reader):
    """No relay runs here, so only the read-side catch-up can apply the events."""
    loans, repayments = LoanCommands(store), RepaymentCommands(store)
    user = str(uuid.uuid4())
    loan = car_loan(loans, user)
    reader.catch_up_streams({f"loan-{loan['id']}": loan["version"]})
    paid = [("225.91", "2024-02-15"), ("225.91", "2024-03-15")]
    for amount, day in paid:
        repayments.log_repayment(user, loan["id"], {"amount": amount, "paid_on": day})

    summary = reader.loan_summary(uuid.UUID(user), uuid.UUID(loan["id"]), "UTC")

    expected = expected_state(paid, dt.date.fromisoformat(summary["as_of"]))
    assert summary["outstanding_principal"] == str(expected.outstanding_principal)
    assert summary["interest_paid"] == str(expected.interest_paid)
    assert summary["arrears"] == str(expected.arrears)
    assert summary["status"] == "overdue"
    assert [item["balance_after"] for item in summary["repayments"]] == [
        str(allocation.balance_after) for allocation in expected.allocations
    ]


def test_dashboard_totals_stay_per_currency(store, reader):
    loans, repayments = LoanCommands(store), RepaymentCommands(store)
    user = str(uuid.uuid4())
    for currency in ("EUR", "USD"):
        loan = car_loan(loans, user, currency)
        reader.catch_up_streams({f"loan-{loan['id']}": 1})
        repayments.log_repayment(user, loan["id"], {"amount": "225.91", "paid_on": "2024-02-15", "currency": currency})

    board = reader.dashboard(uuid.UUID(user), "UTC", parse_dashboard_filter({}))

    assert [total["currency"] for total in board["totals"]] == ["EUR", "USD"]
    for total in board["totals"]:
        assert total["borrowed"] == "12000.00"
        assert total["repaid"] == "225.91"
    assert len(board["overdue"]) == 2
    months = {(item["month"], item["currency"]) for item in board["charts"]["payments_by_month"]}
    assert months == {("2024-02", "EUR"), ("2024-02", "USD")}
    only_usd = reader.dashboard(uuid.UUID(user), "UTC", parse_dashboard_filter({"loan_ids": board["loans"][1]["id"]}))
    assert [total["currency"] for total in only_usd["totals"]] == [board["loans"][1]["currency"]]


def test_reversal_and_delete_update_projection(store, reader):
    loans, repayments = LoanCommands(store), RepaymentCommands(store)
    user = str(uuid.uuid4())
    loan = car_loan(loans, user)
    reader.catch_up_streams({f"loan-{loan['id']}": 1})
    logged = repayments.log_repayment(user, loan["id"], {"amount": "500.00", "paid_on": "2024-02-15"})
    repayments.reverse_repayment(user, loan["id"], logged["id"], "wrong loan")
    summary = reader.loan_summary(uuid.UUID(user), uuid.UUID(loan["id"]), "UTC")
    assert summary["total_paid"] == "0.00"
    assert summary["repayments"][0]["reversed"] is True

    loans.delete_loan(user, loan["id"])
    board = reader.dashboard(uuid.UUID(user), "UTC", parse_dashboard_filter({}))
    assert board["loans"] == []
    assert board["totals"] == []


def test_history_lists_balance_after_each_event(store, reader):
    loans, repayments = LoanCommands(store), RepaymentCommands(store)
    user = str(uuid.uuid4())
    loan = car_loan(loans, user)
    repayments.log_repayment(user, loan["id"], {"amount": "225.91", "paid_on": "2024-02-15"})
    repayments.log_repayment(user, loan["id"], {"amount": "1000.00", "paid_on": "2024-03-15"})

    history = reader.history(uuid.UUID(user), uuid.UUID(loan["id"]))

    assert [entry["event_type"] for entry in history["events"]] == ["LoanCreated", "RepaymentLogged", "RepaymentLogged"]
    assert history["events"][0]["outstanding_principal"] == "12000.00"
    expected = expected_state([("225.91", "2024-02-15"), ("1000.00", "2024-03-15")], dt.date(2024, 3, 15))
    assert history["events"][-1]["outstanding_principal"] == str(expected.outstanding_principal)
    first_only = reader.history(uuid.UUID(user), uuid.UUID(loan["id"]), history["events"][1]["position"])
    assert len(first_only["events"]) == 2
    on_date = reader.balance_as_of(uuid.UUID(user), uuid.UUID(loan["id"]), dt.date(2024, 3, 15))
    assert on_date["outstanding_principal"] == str(expected.outstanding_principal)


def test_replay_rebuilds_same_projection(store, reader, engine):
    loans, repayments = LoanCommands(store), RepaymentCommands(store)
    user = str(uuid.uuid4())
    loan = car_loan(loans, user)
    reader.catch_up_streams({f"loan-{loan['id']}": 1})
    repayments.log_repayment(user, loan["id"], {"amount": "225.91", "paid_on": "2024-02-15"})
    before = reader.loan_summary(uuid.UUID(user), uuid.UUID(loan["id"]), "UTC")

    progress = []
    applied = replay(engine, lambda done, total: progress.append((done, total)))

    assert applied >= 2
    assert progress[-1][0] == progress[-1][1]
    with engine.connect() as conn:
        row = conn.execute(sa.select(tables.loans).where(tables.loans.c.loan_id == uuid.UUID(loan["id"]))).one()
    assert str(row.outstanding_principal) == before["outstanding_principal"]
    assert reader.loan_summary(uuid.UUID(user), uuid.UUID(loan["id"]), "UTC") == before
