"""The ledger's statement data on the real event store and projections, and the exports rendered from it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from decimal import Decimal

import pypdf
import pytest

from loansyncro.errors import ValidationFailed
from loansyncro.eventstore import EventStore
from loansyncro.statements import StatementOptions, history_json, loans_csv, render_statement_pdf, repayments_csv
from services.ledger.projection import build_follower
from services.ledger.queries import Reader, parse_dashboard_filter
from services.ledger.statements import statement_data
from services.loans.commands import LoanCommands
from services.repayments.commands import RepaymentCommands

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ledger")]


@pytest.fixture
def reader(engine) -> Reader:
    return Reader(engine, build_follower(engine))


@pytest.fixture
def commands(engine) -> tuple[LoanCommands, RepaymentCommands]:
    store = EventStore(engine)
    return LoanCommands(store), RepaymentCommands(store)


def create_loan_event(loans: LoanCommands, user: str, name: str, currency: str = "EUR", lender: str | None = None) -> dict:
    payload = {
        "name": name,
        "loan_type": "auto",
        "lender": lender,
        "currency": currency,
        "principal": "12000.00" if currency != "JPY" else "1200000",
        "annual_rate": "4.9",
        "start_date": "2024-01-15",
        "installments": 60,
    }
    return loans.create_loan(user, payload)


def pay(repayments: RepaymentCommands, user: str, loan: dict, amount: str, paid_on: str) -> None:
    repayments.log_repayment(user, loan["id"], {"amount": amount, "paid_on": paid_on, "method": "bank_transfer"})


@pytest.fixture
def household(commands, reader) -> dict:
    """One user with loans in two currencies, a deleted loan, and another user's loan."""
    loans, repayments = commands

    def create_loan(*args: object, **kwargs: object) -> dict:
        # The ledger learns of a loan from its stream; the gateway waits for it the same way.
        loan = create_loan_event(*args, **kwargs)
        reader.catch_up_streams({f"loan-{loan['id']}": loan["version"]})
        return loan

    user, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    car = create_loan(loans, user, "Coche", lender="José Muñoz Crédito")
    pay(repayments, user, car, "225.91", "2024-02-15")
    pay(repayments, user, car, "225.91", "2024-03-15")
    pay(repayments, user, car, "300.00", "2024-04-15")
    loans.change_terms(user, car["id"], {"effective_date": "2024-05-15", "annual_rate": "3.9"})
    pay(repayments, user, car, "220.00", "2024-05-15")
    flat = create_loan(loans, user, "Tokyo flat", currency="JPY", lender="みずほ")
    pay(repayments, user, flat, "22591", "2024-02-15")
    deleted = create_loan(loans, user, "Deleted loan")
    pay(repayments, user, deleted, "225.91", "2024-02-15")
    loans.delete_loan(user, deleted["id"])
    other = create_loan(loans, stranger, "Stranger's loan")
    pay(repayments, stranger, other, "225.91", "2024-02-15")
    return {"user": user, "car": car, "flat": flat, "deleted": deleted, "other": other}


def read(reader: Reader, user: str, **query: str) -> dict:
    return statement_data(reader, uuid.UUID(user), "Europe/Madrid", parse_dashboard_filter(query))


def test_statement_totals_equal_dashboard(reader, household):
    user = uuid.UUID(household["user"])
    dashboard = reader.dashboard(user, "Europe/Madrid", parse_dashboard_filter({}))

    statement = read(reader, household["user"])

    assert statement["totals"] == dashboard["totals"]
    assert statement["as_of"] == dashboard["as_of"]
    figures = ("outstanding_principal", "principal_paid", "interest_paid", "payoff_amount", "arrears", "status")
    by_id = {loan["id"]: loan for loan in dashboard["loans"]}
    for loan in statement["loans"]:
        for figure in figures:
            assert loan[figure] == by_id[loan["id"]][figure], figure


def test_statement_filtered_totals_equal_dashboard(reader, household):
    user = uuid.UUID(household["user"])
    query = {"loan_ids": household["car"]["id"]}
    dashboard = reader.dashboard(user, "Europe/Madrid", parse_dashboard_filter(query))

    statement = read(reader, household["user"], **query)

    assert [loan["id"] for loan in statement["loans"]] == [household["car"]["id"]]
    assert statement["totals"] == dashboard["totals"]
    assert statement["filters"]["loan_ids"] == [household["car"]["id"]]


def test_statement_omits_deleted_and_foreign_loans(reader, household):
    statement = read(reader, household["user"])
    listed = {loan["id"] for loan in statement["loans"]}
    assert listed == {household["car"]["id"], household["flat"]["id"]}
    assert household["deleted"]["id"] not in listed
    assert household["other"]["id"] not in listed


def test_statement_of_foreign_loan_id_is_empty(reader, household):
    statement = read(reader, household["user"], loan_ids=household["other"]["id"])
    assert statement["loans"] == []
    assert statement["totals"] == []


def test_statement_lists_schedule_and_repayments(reader, household):
    car = next(loan for loan in read(reader, household["user"])["loans"] if loan["id"] == household["car"]["id"])
    assert [item["paid_on"] for item in car["repayments"]] == ["2024-02-15", "2024-03-15", "2024-04-15", "2024-05-15"]
    assert [change["annual_rate"] for change in car["term_changes"]] == ["3.9"]
    assert car["annual_rate"] == "3.9"
    assert car["terms"]["annual_rate"] == "4.9"
    assert len(car["installments"]) == 60
    assert car["terms"]["installments"] == 60
    assert car["lender"] == "José Muñoz Crédito"
    assert {item["extra_mode"] for item in car["repayments"]} == {"shorten_term"}
    extra = car["repayments"][2]
    assert Decimal(extra["principal"]) + Decimal(extra["interest"]) == Decimal("300.00")
    assert Decimal(extra["prepayment"]) > 0


def test_time_frame_limits_rows_not_totals(reader, household):
    whole = read(reader, household["user"])
    framed = read(reader, household["user"], **{"from": "2024-03-01", "to": "2024-03-31"})
    car = next(loan for loan in framed["loans"] if loan["id"] == household["car"]["id"])

    assert [item["paid_on"] for item in car["repayments"]] == ["2024-03-15"]
    assert [item["due_date"] for item in car["installments"]] == ["2024-03-15"]
    assert framed["totals"] == whole["totals"]
    assert framed["filters"]["from"] == "2024-03-01"


def test_invalid_filter_names_the_option(reader, household):
    with pytest.raises(ValidationFailed, match="status 'lost' is not supported"):
        read(reader, household["user"], status="lost")


def test_exports_show_statement_figures(reader, household):
    statement = read(reader, household["user"])
    euro = next(entry for entry in statement["totals"] if entry["currency"] == "EUR")

    pdf = pypdf.PdfReader(io.BytesIO(render_statement_pdf(statement, StatementOptions("en_US", dt.datetime.now(dt.UTC)))))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert f"€{Decimal(euro['outstanding_principal']):,.2f}" in text
    assert "José Muñoz Crédito" in text

    rows = list(csv.DictReader(io.StringIO(repayments_csv(statement).decode("utf-8-sig"))))
    euro_rows = [row for row in rows if row["currency"] == "EUR" and row["reversed"] == "false"]
    assert sum(Decimal(row["amount"]) for row in euro_rows) == Decimal(euro["repaid"])
    loans = list(csv.DictReader(io.StringIO(loans_csv(statement).decode("utf-8-sig"))))
    assert {row["loan_id"] for row in loans} == {household["car"]["id"], household["flat"]["id"]}

    document = json.loads(history_json(statement, dt.datetime.now(dt.UTC)))
    assert document["totals"] == statement["totals"]


# Fields of the create-loan request; the rest of `terms` (semi_monthly_days, rounding) are not accepted there.
CREATE_TERMS = (
    "principal", "annual_rate", "day_count", "method", "frequency", "first_payment_date", "installments", "end_date", "notes"
)


def test_history_json_reimports_to_same_figures(reader, commands, household):
    loans, repayments = commands
    exported = json.loads(history_json(read(reader, household["user"]), dt.datetime.now(dt.UTC)))
    copy_user = str(uuid.uuid4())

    for loan in exported["loans"]:
        payload = {key: loan[key] for key in ("name", "loan_type", "lender", "currency", "start_date")}
        payload.update({key: loan["terms"][key] for key in CREATE_TERMS if loan["terms"][key] is not None})
        created = loans.create_loan(copy_user, payload)
        reader.catch_up_streams({f"loan-{created['id']}": created["version"]})
        for change in loan["term_changes"]:
            loans.change_terms(copy_user, created["id"], {key: value for key, value in change.items() if value is not None})
        for repayment in loan["repayments"]:
            if not repayment["reversed"]:
                body = {key: repayment[key] for key in ("amount", "paid_on", "method", "extra_mode")}
                repayments.log_repayment(copy_user, created["id"], body)

    copied = read(reader, copy_user)
    assert copied["totals"] == exported["totals"]
    by_name = {loan["name"]: loan for loan in copied["loans"]}
    for loan in exported["loans"]:
        copy = by_name[loan["name"]]
        for figure in ("outstanding_principal", "interest_paid", "arrears", "payoff_amount"):
            assert copy[figure] == loan[figure], (loan["name"], figure)
        assert [item["balance_after"] for item in copy["repayments"]] == [item["balance_after"] for item in loan["repayments"]]
