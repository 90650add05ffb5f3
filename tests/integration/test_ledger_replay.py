"""The ledger applies redelivered events once, and `loansyncro replay` rebuilds it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from loansyncro.eventstore import EventStore
from services.ledger.projection import build_follower
from services.ledger.queries import Reader, parse_dashboard_filter
from services.loans.commands import LoanCommands
from services.repayments.commands import RepaymentCommands

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ledger")]

CAR = {
    "name": "Car",
    "loan_type": "auto",
    "currency": "EUR",
    "principal": "12000.00",
    "annual_rate": "4.9",
    "start_date": "2024-01-15",
    "installments": 60,
}


def repaid(reader: Reader, user: str) -> str:
    return reader.dashboard(uuid.UUID(user), "UTC", parse_dashboard_filter({}))["totals"][0]["repaid"]


def test_redelivered_messages_apply_once(engine):
    store = EventStore(engine)
    follower = build_follower(engine)
    reader = Reader(engine, follower)
    user = str(uuid.uuid4())
    loan = LoanCommands(store).create_loan(user, CAR)
    RepaymentCommands(store).log_repayment(user, loan["id"], {"amount": "300.00", "paid_on": "2024-02-15"})
    messages = [event.to_message() for event in store.read_streams([f"loan-{loan['id']}", f"repayments-{loan['id']}"])[f"loan-{loan['id']}"]]
    messages += [event.to_message() for event in store.read_stream(f"repayments-{loan['id']}")]

    outcomes = [follower.handle_message(message) for message in messages + messages]

    assert outcomes == ["applied", "applied", "duplicate", "duplicate"]
    assert repaid(reader, user) == "300.00"


def test_replay_command_prints_progress(engine, settings):
    store = EventStore(engine)
    user = str(uuid.uuid4())
    loan = LoanCommands(store).create_loan(user, CAR)
    RepaymentCommands(store).log_repayment(user, loan["id"], {"amount": "300.00", "paid_on": "2024-02-15"})

    completed = subprocess.run(
        [sys.executable, "-m", "loansyncro.cli", "replay", "--batch-size", "2"],
        env={**os.environ, "DATABASE_URL": settings.database_url, "AMQP_URI": settings.amqp_uri},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert any(line.startswith("Replayed 2 of ") for line in lines)
    assert lines[-1].startswith("Ledger rebuilt from ")
    assert repaid(Reader(engine, build_follower(engine)), user) == "300.00"
