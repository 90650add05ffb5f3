"""Loans and repayments through the HTTP API: rules, problem responses, ownership, idempotency."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.api_client import ApiClient

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CAR = {
    "name": "Car",
    "loan_type": "auto",
    "lender": "AutoFinance",
    "currency": "EUR",
    "principal": "12000.00",
    "annual_rate": "4.9",
    "start_date": "2024-01-15",
    "installments": 60,
}


def signed_in(base_url: str, time_zone: str = "UTC") -> ApiClient:
    client = ApiClient(base_url)
    email = f"loans+{uuid.uuid4().hex[:12]}@example.com"
    password = "pw-" + uuid.uuid4().hex
    client.register(email, password, time_zone=time_zone)
    client.sign_in(email, password)
    return client


@pytest.fixture
def client(base_url) -> ApiClient:
    return signed_in(base_url)


def problem_of(response) -> dict:
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


def field_of(response) -> str:
    return problem_of(response)["errors"][0]["field"]


def test_loan_lifecycle_over_http(client):
    loan = client.create_loan(**CAR)
    assert loan["principal"] == "12000.00"
    read = client.get_loan(loan["id"])
    assert read["balance"]["outstanding_principal"] == "12000.00"

    client.change_loan_details(loan["id"], name="Family car")
    changed = client.change_loan_terms(loan["id"], effective_date="2024-07-15", annual_rate="3.9")
    assert changed["current_annual_rate"] == "3.9"
    schedule = client.schedule(loan["id"])
    assert len(schedule["installments"]) == 60
    assert {item["status"] for item in schedule["installments"][:3]} == {"overdue"}

    listed = client.list_loans(status="active", sort="name")
    assert [item["name"] for item in listed["items"]] == ["Family car"]
    client.close_loan(loan["id"], closed_on="2024-08-01", reason="sold the car")
    assert client.list_loans()["total"] == 0
    assert client.list_loans(status="closed")["total"] == 1
    assert client.dashboard(status="closed")["loans"][0]["status"] == "closed"

    client.delete_loan(loan["id"])
    assert client.list_loans(status="all")["total"] == 0
    assert client.request("GET", f"/api/v1/loans/{loan['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CAR, "owner_id": str(uuid.uuid4())}, "owner_id"),
        ({**CAR, "status": "closed"}, "status"),
        ({**CAR, "balance": "1.00"}, "balance"),
        ({**CAR, "principal": 12000}, "principal"),
        ({**CAR, "principal": "12000.001"}, "principal"),
        ({**CAR, "loan_type": "boat"}, "loan_type"),
    ],
)
def test_create_loan_rejects_field(client, body, field):
    response = client.request("POST", "/api/v1/loans", json=body)
    assert response.status_code == 422
    assert field_of(response) == field


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"amount": "0.00", "paid_on": "2024-02-15"}, "amount", "greater than zero"),
        ({"amount": "-1.00", "paid_on": "2024-02-15"}, "amount", "greater than zero"),
        ({"amount": "1.001", "paid_on": "2024-02-15"}, "amount", "more decimals"),
        ({"amount": "10.00", "paid_on": "2024-02-15", "currency": "USD"}, "currency", "differs"),
        ({"amount": "10.00", "paid_on": "2024-01-01"}, "paid_on", "before the loan started"),
        ({"amount": "10.00", "paid_on": "2999-01-01"}, "paid_on", "in the future"),
        ({"amount": "50000.00", "paid_on": "2024-02-15"}, "amount", "payoff amount"),
        ({"amount": "10.00", "paid_on": "2024-02-15", "repayment_id": "x"}, "repayment_id", "Unknown field"),
    ],
)
def test_log_repayment_rejects_field(client, body, field, detail):
    loan = client.create_loan(**CAR)
    response = client.request("POST", f"/api/v1/loans/{loan['id']}/repayments", json=body)
    assert response.status_code == 422
    assert field_of(response) == field
    assert detail in problem_of(response)["detail"]


def test_future_date_is_judged_in_users_time_zone(base_url):
    # Kiritimati is UTC+14 and Etc/GMT+12 is UTC-12, so their dates always differ.
    ahead = signed_in(base_url, "Pacific/Kiritimati")
    behind = signed_in(base_url, "Etc/GMT+12")
    ahead_today = dt.datetime.now(dt.timezone(dt.timedelta(hours=14))).date().isoformat()
    loan = ahead.create_loan(**CAR)
    assert ahead.log_repayment(loan["id"], amount="10.00", paid_on=ahead_today)["paid_on"] == ahead_today
    other = behind.create_loan(**CAR)
    response = behind.request("POST", f"/api/v1/loans/{other['id']}/repayments", json={"amount": "10.00", "paid_on": ahead_today})
    assert response.status_code == 422
    assert field_of(response) == "paid_on"


def test_other_users_loans_are_404(base_url, client):
    loan = client.create_loan(**CAR)
    logged = client.log_repayment(loan["id"], amount="10.00", paid_on="2024-02-15")
    stranger = signed_in(base_url)
    paths = [
        ("GET", f"/api/v1/loans/{loan['id']}", None),
        ("PATCH", f"/api/v1/loans/{loan['id']}", {"name": "mine"}),
        ("DELETE", f"/api/v1/loans/{loan['id']}", None),
        ("GET", f"/api/v1/loans/{loan['id']}/schedule", None),
        ("GET", f"/api/v1/loans/{loan['id']}/history", None),
        ("GET", f"/api/v1/loans/{loan['id']}/repayments", None),
        ("GET", f"/api/v1/loans/{loan['id']}/repayments/{logged['id']}", None),
        ("POST", f"/api/v1/loans/{loan['id']}/repayments", {"amount": "10.00", "paid_on": "2024-02-15"}),
        ("POST", f"/api/v1/loans/{loan['id']}/repayments/{logged['id']}/reverse", {}),
        ("POST", f"/api/v1/loans/{loan['id']}/close", {}),
        ("POST", f"/api/v1/loans/{loan['id']}/terms", {"effective_date": "2024-06-01", "annual_rate": "1"}),
    ]
    for method, path, body in paths:
        response = stranger.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert stranger.dashboard()["loans"] == []


def test_repayment_location_reads_it(client):
    loan = client.create_loan(**CAR)
    created = client.request("POST", f"/api/v1/loans/{loan['id']}/repayments", 201, json={"amount": "10.00", "paid_on": "2024-02-15"})
    read = client.request("GET", created.headers["Location"], 200).json()
    assert read["id"] == created.json()["id"]
    assert read["amount"] == "10.00"
    other_id = str(uuid.uuid4())
    assert client.request("GET", f"/api/v1/loans/{loan['id']}/repayments/{other_id}").status_code == 404


def test_same_idempotency_key_logs_once(client):
    loan = client.create_loan(**CAR)
    first = client.log_repayment(loan["id"], key="repay-key-0001", amount="225.00", paid_on="2024-02-15")
    second = client.log_repayment(loan["id"], key="repay-key-0001", amount="225.00", paid_on="2024-02-15")
    assert first["id"] == second["id"]
    assert client.list_repayments(loan["id"])["total"] == 1
    assert client.dashboard()["totals"][0]["repaid"] == "225.00"


def test_history_lists_balance_after_each_event(client):
    loan = client.create_loan(**CAR)
    client.log_repayment(loan["id"], amount="1000.00", paid_on="2024-02-15")
    history = client.loan_history(loan["id"])
    assert [entry["event_type"] for entry in history["events"]] == ["LoanCreated", "RepaymentLogged"]
    assert history["events"][0]["outstanding_principal"] == "12000.00"
    assert history["events"][1]["outstanding_principal"] == "11049.00"
    as_of = client.loan_history(loan["id"], as_of="2024-02-15")
    assert as_of["outstanding_principal"] == "11049.00"


def test_concurrent_repayments_from_two_clients(base_url):
    email = f"loans+{uuid.uuid4().hex[:12]}@example.com"
    password = "pw-" + uuid.uuid4().hex
    phone = ApiClient(base_url)
    phone.register(email, password)
    phone.sign_in(email, password)
    laptop = ApiClient(base_url)
    laptop.sign_in(email, password)
    loan = phone.create_loan(**CAR)

    def pay(args: tuple[ApiClient, str]) -> dict:
        client, amount = args
        return client.log_repayment(loan["id"], amount=amount, paid_on="2024-02-15")

    jobs = [(phone, "100.00"), (laptop, "200.00"), (phone, "300.00"), (laptop, "400.00")]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(pay, jobs))

    assert len({result["id"] for result in results}) == len(jobs)
    assert phone.list_repayments(loan["id"])["total"] == len(jobs)
    assert laptop.get_loan(loan["id"])["balance"]["total_paid"] == "1000.00"


def test_stopped_ledger_still_creates_loan(system, client):
    system.kill("ledger")
    try:
        response = client.request("POST", "/api/v1/loans", json=CAR)
    finally:
        system.restart("ledger")
        system.wait_until_ready(timeout=60)

    # The loan is written; the ledger's catch-up applies it once it is back.
    assert response.status_code == 201, response.text


def test_timed_out_keyed_request_runs_again(system, client):
    key = str(uuid.uuid4())
    system.kill("loans")
    try:
        first = client.request("POST", "/api/v1/loans", json=CAR, headers={"Idempotency-Key": key})
        retry = client.request("POST", "/api/v1/loans", json=CAR, headers={"Idempotency-Key": key})
    finally:
        system.restart("loans")
        system.wait_until_ready(timeout=60)

    assert first.status_code == 504, first.text
    assert retry.status_code == 504, f"a 504 is not stored, so the retry runs instead of a 409: {retry.text}"
    created = client.request("POST", "/api/v1/loans", json=CAR, headers={"Idempotency-Key": key})
    assert created.status_code == 201, created.text
    assert client.list_loans()["total"] == 1, "the requests queued during the outage were applied once"
