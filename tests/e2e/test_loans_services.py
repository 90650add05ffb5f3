"""The loans, repayments and ledger services as separate processes, driven over nameko RPC."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

import loansyncro.service_kit  # noqa: F401 - registers the cross-service errors for RPC callers
from loansyncro.config import Settings
from loansyncro.errors import NotFound

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture
def rpc_config(system, settings: Settings) -> dict:
    return {"AMQP_URI": settings.amqp_uri, "rpc_exchange": "loansyncro-rpc", "serializer": "json"}


def car_loan(user: str) -> dict:
    return {
        "name": "Car",
        "loan_type": "auto",
        "currency": "EUR",
        "principal": "12000.00",
        "annual_rate": "4.9",
        "start_date": "2024-01-15",
        "installments": 60,
    }


def test_concurrent_repayments_from_two_clients_both_count(rpc_config):
    user = str(uuid.uuid4())
    with ClusterRpcProxy(rpc_config) as rpc:
        loan = rpc.loans.create_loan(user, car_loan(user))
        rpc.ledger.catch_up_streams({f"loan-{loan['id']}": loan["version"]})

    def pay(amount: str) -> dict:
        # Each thread is its own client with its own connection.
        with ClusterRpcProxy(rpc_config) as client:
            return client.repayments.log_repayment(user, loan["id"], {"amount": amount, "paid_on": "2024-02-15"})

    amounts = ["300.00", "400.00", "500.00", "600.00"]
    with ThreadPoolExecutor(max_workers=len(amounts)) as pool:
        results = list(pool.map(pay, amounts))

    assert len({result["id"] for result in results}) == len(amounts)
    with ClusterRpcProxy(rpc_config) as rpc:
        listed = rpc.repayments.list_repayments(user, loan["id"])
        summary = rpc.ledger.loan_summary(user, loan["id"])
    assert sorted(item["amount"] for item in listed["items"]) == amounts
    assert Decimal(summary["total_paid"]) == sum(Decimal(amount) for amount in amounts)
    assert len(summary["repayments"]) == len(amounts)


def test_next_read_reflects_repayment(rpc_config):
    user = str(uuid.uuid4())
    with ClusterRpcProxy(rpc_config) as rpc:
        loan = rpc.loans.create_loan(user, car_loan(user))
        rpc.ledger.catch_up_streams({f"loan-{loan['id']}": loan["version"]})
        for month in range(2, 8):
            rpc.repayments.log_repayment(user, loan["id"], {"amount": "225.91", "paid_on": f"2024-{month:02d}-15"})
            board = rpc.ledger.dashboard(user)
            assert board["totals"][0]["repaid"] == str(Decimal("225.91") * (month - 1))


def test_foreign_loan_is_not_found_over_rpc(rpc_config):
    owner, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    with ClusterRpcProxy(rpc_config) as rpc:
        loan = rpc.loans.create_loan(owner, car_loan(owner))
        with pytest.raises(NotFound):
            rpc.repayments.log_repayment(stranger, loan["id"], {"amount": "10.00", "paid_on": dt.date.today().isoformat()})
        with pytest.raises(NotFound):
            rpc.ledger.loan_summary(stranger, loan["id"])
