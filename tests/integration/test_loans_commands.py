"""Loan commands against the real event store and the loans read model."""

from __future__ import annotations

import uuid

import pytest

from loansyncro.errors import Conflict, NotFound, ValidationFailed
from loansyncro.eventstore import EventStore
from services.loans.commands import LoanCommands

pytestmark = pytest.mark.integration


def mortgage(**overrides: object) -> dict:
    payload = {
        "name": "Home",
        "loan_type": "mortgage",
        "lender": "First Bank",
        "currency": "USD",
        "principal": "320000.00",
        "annual_rate": "6.5",
        "start_date": "2024-01-15",
        "installments": 360,
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def commands(engine) -> LoanCommands:
    return LoanCommands(EventStore(engine))


def test_create_and_read_loan(commands):
    user = uuid.uuid4()
    created = commands.create_loan(str(user), mortgage())
    assert created["principal"] == "320000.00"
    assert created["status"] == "active"
    assert created["method"] == "annuity"
    assert commands.get_loan(str(user), created["id"]) == created


def test_create_with_same_key_is_idempotent(commands):
    user = str(uuid.uuid4())
    first = commands.create_loan(user, mortgage(), idempotency_key="k1")
    second = commands.create_loan(user, mortgage(), idempotency_key="k1")
    assert first["id"] == second["id"]
    assert commands.list_loans(user)["total"] == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("principal", "-5.00", "greater than zero"),
        ("principal", "100.001", "more decimals"),
        ("principal", 1000.5, "decimal string"),
        ("loan_type", "yacht", "not supported"),
        ("currency", "XYZ", "currency"),
        ("owner_id", "b58feede-316b-4726-a6e5-b09bb52c39a1", "set by the server"),
        ("status", "closed", "set by the server"),
        ("start_date", "15/01/2024", "YYYY-MM-DD"),
    ],
)
def test_create_rejects_invalid_field(commands, field, value, message):
    with pytest.raises(ValidationFailed, match=message) as caught:
        commands.create_loan(str(uuid.uuid4()), mortgage(**{field: value}))
    assert caught.value.field == field


def test_other_users_loan_is_not_found(commands):
    owner = str(uuid.uuid4())
    loan = commands.create_loan(owner, mortgage())
    stranger = str(uuid.uuid4())
    with pytest.raises(NotFound):
        commands.get_loan(stranger, loan["id"])
    with pytest.raises(NotFound):
        commands.change_details(stranger, loan["id"], {"name": "Mine now"})
    with pytest.raises(NotFound):
        commands.delete_loan(stranger, loan["id"])


def test_list_filters_sorts_and_pages(commands):
    user = str(uuid.uuid4())
    commands.create_loan(user, mortgage(name="B home"))
    car = commands.create_loan(user, mortgage(name="A car", loan_type="auto", lender="Car Credit", installments=60))
    commands.create_loan(user, mortgage(name="C study", loan_type="student", lender=None))
    commands.close_loan(user, car["id"], {"closed_on": "2024-06-01"})

    active = commands.list_loans(user, {"sort": "name"})
    assert [item["name"] for item in active["items"]] == ["B home", "C study"]
    closed = commands.list_loans(user, {"status": "closed"})
    assert [item["name"] for item in closed["items"]] == ["A car"]
    everything = commands.list_loans(user, {"status": "all", "sort": "-name", "limit": "2", "offset": "1"})
    assert everything["total"] == 3
    assert [item["name"] for item in everything["items"]] == ["B home", "A car"]
    by_lender = commands.list_loans(user, {"status": "all", "lender": "car credit"})
    assert [item["name"] for item in by_lender["items"]] == ["A car"]
    by_type = commands.list_loans(user, {"type": "student"})
    assert [item["name"] for item in by_type["items"]] == ["C study"]


def test_change_details_and_terms_keep_history(commands):
    user = str(uuid.uuid4())
    loan = commands.create_loan(user, mortgage())
    renamed = commands.change_details(user, loan["id"], {"name": "Family home", "lender": None})
    assert renamed["name"] == "Family home"
    assert renamed["lender"] is None

    changed = commands.change_terms(user, loan["id"], {"effective_date": "2025-01-15", "annual_rate": "5.25"})
    assert changed["current_annual_rate"] == "5.25"
    assert changed["annual_rate"] == "6.5"
    assert changed["term_changes"][0]["effective_date"] == "2025-01-15"


def test_term_change_before_start_names_field(commands):
    user = str(uuid.uuid4())
    loan = commands.create_loan(user, mortgage())
    with pytest.raises(ValidationFailed) as caught:
        commands.change_terms(user, loan["id"], {"effective_date": "2023-01-01", "annual_rate": "5"})
    assert caught.value.field == "effective_date"


def test_closed_loan_rejects_changes(commands):
    user = str(uuid.uuid4())
    loan = commands.create_loan(user, mortgage())
    commands.close_loan(user, loan["id"], {"closed_on": "2024-03-01", "reason": "refinanced"})
    with pytest.raises(Conflict, match="closed"):
        commands.change_terms(user, loan["id"], {"effective_date": "2024-06-01", "annual_rate": "5"})


def test_deleted_loan_disappears(commands):
    user = str(uuid.uuid4())
    loan = commands.create_loan(user, mortgage())
    commands.delete_loan(user, loan["id"])
    with pytest.raises(NotFound):
        commands.get_loan(user, loan["id"])
    assert commands.list_loans(user, {"status": "all"})["total"] == 0
