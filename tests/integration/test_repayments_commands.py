"""Repayment commands against the real event store: checks, idempotency, reversal, races."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from loansyncro.errors import Conflict, NotFound, ValidationFailed
from loansyncro.eventstore import EventStore
from loansyncro.schedule import Repayment, loan_state
from services.loans.commands import LoanCommands
from loansyncro.loan_stream import fold_loan, stream_id_of, terms_of
from services.repayments.commands import RepaymentCommands

pytestmark = pytest.mark.integration

START = dt.date(2024, 1, 15)


@pytest.fixture
def store(engine) -> EventStore:
    return EventStore(engine)


@pytest.fixture
def loans(store) -> LoanCommands:
    return LoanCommands(store)


@pytest.fixture
def repayments(store) -> RepaymentCommands:
    return RepaymentCommands(store)


def new_loan(loans: LoanCommands, user: str, **overrides: object) -> dict:
    payload = {
        "name": "Car",
        "loan_type": "auto",
        "currency": "EUR",
        "principal": "12000.00",
        "annual_rate": "4.9",
        "start_date": START.isoformat(),
        "installments": 60,
    }
    payload.update(overrides)
    return loans.create_loan(user, payload)


def payment(amount: str = "225.00", paid_on: str = "2024-02-15", **extra: object) -> dict:
    return {"amount": amount, "paid_on": paid_on, "method": "bank_transfer", **extra}


def test_log_and_list_repayment(loans, repayments):
    user = str(uuid.uuid4())
    loan = new_loan(loans, user)
    logged = repayments.log_repayment(user, loan["id"], payment(reference="INV-1"))
    assert logged["amount"] == "225.00"
    assert logged["currency"] == "EUR"
    assert logged["reference"] == "INV-1"
    assert logged["stream_id"] == f"repayments-{loan['id']}"
    repayments.log_repayment(user, loan["id"], payment(paid_on="2024-03-15"))
    page = repayments.list_repayments(user, loan["id"], {"limit": "1"})
    assert page["total"] == 2
    assert [item["paid_on"] for item in page["items"]] == ["2024-03-15"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": "0.00"}, "amount", "greater than zero"),
        ({"amount": "-10.00"}, "amount", "greater than zero"),
        ({"amount": "10.001"}, "amount", "more decimals than EUR"),
        ({"amount": 10}, "amount", "decimal string"),
        ({"currency": "USD"}, "currency", "differs from the loan's EUR"),
        ({"paid_on": "2024-01-14"}, "paid_on", "before the loan started"),
        ({"paid_on": "2999-01-01"}, "paid_on", "in the future"),
        ({"method": "cheque"}, "method", "not supported"),
        ({"extra_mode": "skip"}, "extra_mode", "not supported"),
        ({"owner_id": str(uuid.uuid4())}, "owner_id", "set by the server"),
        ({"amount": "99999.00"}, "amount", r"payoff amount 12\d{3}\.\d\d EUR"),
    ],
)
def test_log_rejects_invalid_input(loans, repayments, overrides, field, message):
    user = str(uuid.uuid4())
    loan = new_loan(loans, user)
    with pytest.raises(ValidationFailed, match=message) as caught:
        repayments.log_repayment(user, loan["id"], payment(**overrides))
    assert caught.value.field == field


def test_log_rejects_closed_deleted_unknown_and_foreign_loans(loans, repayments):
    user = str(uuid.uuid4())
    closed = new_loan(loans, user)
    loans.close_loan(user, closed["id"], {"closed_on": "2024-02-01"})
    with pytest.raises(ValidationFailed, match="closed") as caught:
        repayments.log_repayment(user, closed["id"], payment())
    assert caught.value.field == "loan_id"

    deleted = new_loan(loans, user)
    loans.delete_loan(user, deleted["id"])
    with pytest.raises(NotFound):
        repayments.log_repayment(user, deleted["id"], payment())
    with pytest.raises(NotFound):
        repayments.log_repayment(user, str(uuid.uuid4()), payment())
    foreign = new_loan(loans, str(uuid.uuid4()))
    with pytest.raises(NotFound):
        repayments.log_repayment(user, foreign["id"], payment())


def test_same_idempotency_key_logs_once(loans, repayments):
    user = str(uuid.uuid4())
    loan = new_loan(loans, user, principal="1000.00", installments=2)
    first = repayments.log_repayment(user, loan["id"], payment(amount="1000.00", paid_on="2024-01-15"), idempotency_key="pay-1")
    # The loan is paid off now, so only the idempotency check lets the retry through.
    second = repayments.log_repayment(user, loan["id"], payment(amount="1000.00", paid_on="2024-01-15"), idempotency_key="pay-1")
    assert first["id"] == second["id"]
    assert repayments.list_repayments(user, loan["id"])["total"] == 1


def test_reverse_keeps_original_in_log(loans, repayments, store):
    user = str(uuid.uuid4())
    loan = new_loan(loans, user)
    logged = repayments.log_repayment(user, loan["id"], payment())
    reversed_ = repayments.reverse_repayment(user, loan["id"], logged["id"], "typed the wrong loan")
    assert reversed_["reversed"] is True
    assert reversed_["reversal_reason"] == "typed the wrong loan"
    types = [event.event_type for event in store.read_stream(f"repayments-{loan['id']}")]
    assert types == ["RepaymentLogged", "RepaymentReversed"]
    with pytest.raises(Conflict, match="already reversed"):
        repayments.reverse_repayment(user, loan["id"], logged["id"])
    with pytest.raises(NotFound):
        repayments.reverse_repayment(user, loan["id"], str(uuid.uuid4()))
    assert repayments.list_repayments(user, loan["id"], {"include_reversed": "false"})["total"] == 0


def test_concurrent_repayments_are_both_recorded(loans, repayments, store):
    user = str(uuid.uuid4())
    loan = new_loan(loans, user)
    amounts = [f"{100 + index}.00" for index in range(8)]

    def pay(amount: str) -> dict:
        return repayments.log_repayment(user, loan["id"], payment(amount=amount, paid_on="2024-02-15"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(pay, amounts))

    assert len({result["id"] for result in results}) == len(amounts)
    events = store.read_stream(f"repayments-{loan['id']}")
    assert sorted(str(event.data["amount"]) for event in events) == sorted(amounts)
    record = fold_loan(store.read_stream(stream_id_of(loan["id"])))
    state = loan_state(
        terms_of(record),
        [Repayment(str(e.data["repayment_id"]), e.data["amount"], e.data["paid_on"]) for e in events],
        dt.date(2024, 2, 15),
    )
    assert state.total_paid == sum(Decimal(amount) for amount in amounts)


def test_concurrent_payoffs_record_only_one(loans, repayments):
    user = str(uuid.uuid4())
    loan = new_loan(loans, user, principal="500.00", installments=1)

    def pay(_: int) -> str:
        try:
            repayments.log_repayment(user, loan["id"], payment(amount="500.00", paid_on="2024-01-15"))
            return "logged"
        except ValidationFailed as error:
            assert error.field == "amount"
            return "rejected"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(pay, range(4)))
    assert outcomes == ["logged", "rejected", "rejected", "rejected"]
