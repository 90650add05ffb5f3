"""Exports over HTTP: the figures equal the dashboard's, headers, filters, isolation and a busy gateway."""

from __future__ import annotations

import csv
import io
import secrets
import threading
import time
import uuid
from collections import defaultdict
from decimal import Decimal

import pypdf
import pytest

from tests.e2e.api_client import ApiClient

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def new_user(base_url: str, **profile: str) -> ApiClient:
    client = ApiClient(base_url)
    email = f"exports+{uuid.uuid4().hex[:12]}@example.com"
    password = "exports-" + secrets.token_urlsafe(16)
    client.register(email, password, **profile)
    client.sign_in(email, password)
    return client


def loan_terms(name: str, currency: str, principal: str, lender: str | None = None, **extra: object) -> dict:
    return {
        "name": name,
        "loan_type": "personal",
        "lender": lender,
        "currency": currency,
        "principal": principal,
        "annual_rate": "6.0",
        "start_date": "2025-01-10",
        "installments": 24,
        **extra,
    }


def pay_installments(client: ApiClient, loan_id: str, count: int) -> None:
    """Pay the first `count` installments exactly, on their due dates."""
    installments = client.schedule(loan_id)["installments"]
    for installment in installments[:count]:
        client.log_repayment(
            loan_id, amount=installment["amount_due"], paid_on=installment["due_date"], method="bank_transfer"
        )


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def borrower(base_url) -> dict:
    """A user with EUR, TRY and USD loans, a deleted loan and a neighbour with a loan of their own."""
    client = new_user(base_url, display_name="Exports borrower", time_zone="America/New_York", locale="en_US", currency="USD")
    coche = client.create_loan(**loan_terms("Coche", "EUR", "9000.00", lender="José Muñoz"))
    ev = client.create_loan(**loan_terms("Ev kredisi", "TRY", "120000.00", lender="Ziraat Bankası"))
    home = client.create_loan(**loan_terms("=Home", "USD", "30000.00", lender="@First Bank"))
    gone = client.create_loan(**loan_terms("Deleted loan", "USD", "1000.00"))
    pay_installments(client, coche["id"], 3)
    pay_installments(client, ev["id"], 2)
    pay_installments(client, home["id"], 4)
    pay_installments(client, gone["id"], 1)
    client.delete_loan(gone["id"])

    neighbour = new_user(base_url, display_name="Neighbour", time_zone="Europe/Berlin", locale="de_DE", currency="EUR")
    theirs = neighbour.create_loan(**loan_terms("Neighbour's loan", "EUR", "5000.00"))
    pay_installments(neighbour, theirs["id"], 2)
    return {
        "client": client,
        "neighbour": neighbour,
        "loans": {"coche": coche, "ev": ev, "home": home, "gone": gone},
        "theirs": theirs,
    }


def test_history_json_equals_dashboard(borrower):
    client = borrower["client"]
    dashboard = client.dashboard()
    history = client.download_history_json()

    assert history["format"] == "loansyncro.history"
    assert history["format_version"] == 1
    assert history["as_of"] == dashboard["as_of"]
    assert history["totals"] == dashboard["totals"]
    by_id = {loan["id"]: loan for loan in dashboard["loans"]}
    assert {loan["id"] for loan in history["loans"]} == set(by_id)
    for loan in history["loans"]:
        for figure in ("outstanding_principal", "principal_paid", "interest_paid", "total_paid", "arrears", "payoff_amount"):
            assert loan[figure] == by_id[loan["id"]][figure], (loan["name"], figure)


def test_repayments_csv_sums_equal_dashboard(borrower):
    client = borrower["client"]
    dashboard = client.dashboard()
    rows = csv_rows(client.download_repayments_csv())

    repaid: dict[str, Decimal] = defaultdict(Decimal)
    principal: dict[str, Decimal] = defaultdict(Decimal)
    interest: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["reversed"] == "false":
            repaid[row["currency"]] += Decimal(row["amount"])
            principal[row["currency"]] += Decimal(row["principal"])
            interest[row["currency"]] += Decimal(row["interest"])
    for total in dashboard["totals"]:
        currency = total["currency"]
        assert repaid[currency] == Decimal(total["repaid"]), currency
        assert principal[currency] == Decimal(total["principal_paid"]), currency
        assert interest[currency] == Decimal(total["interest_paid"]), currency


def test_loans_csv_equals_dashboard(borrower):
    client = borrower["client"]
    dashboard = {loan["id"]: loan for loan in client.dashboard()["loans"]}
    rows = csv_rows(client.download_export("loans.csv").content)

    assert {row["loan_id"] for row in rows} == set(dashboard)
    for row in rows:
        assert row["outstanding_principal"] == dashboard[row["loan_id"]]["outstanding_principal"]
        assert row["currency"] == dashboard[row["loan_id"]]["currency"]


def test_csv_neutralises_formulas_and_keeps_names(borrower):
    data = borrower["client"].download_repayments_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(data)
    names = {row["loan_name"] for row in rows}
    lenders = {row["lender"] for row in rows}
    assert "'=Home" in names
    assert "'@First Bank" in lenders
    assert "José Muñoz" in lenders
    assert "José Muñoz".encode() in data


def test_pdf_shows_dashboard_totals(borrower):
    client = borrower["client"]
    dashboard = client.dashboard()
    response = client.download_export("statement.pdf")
    text = pdf_text(response.content)

    usd = next(total for total in dashboard["totals"] if total["currency"] == "USD")
    euro = next(total for total in dashboard["totals"] if total["currency"] == "EUR")
    # The borrower's locale is en_US, so amounts read like "$1,234.50" and "€1,234.50".
    assert f"${Decimal(usd['outstanding_principal']):,.2f}" in text
    assert f"${Decimal(usd['interest_paid']):,.2f}" in text
    assert f"€{Decimal(euro['outstanding_principal']):,.2f}" in text
    assert "José Muñoz" in text
    assert "Ziraat Bankası" in text
    assert "Deleted loan" not in text
    assert "Neighbour" not in text
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert reader.metadata.author == "LoanSyncro"
    assert round(float(reader.pages[0].mediabox.width)) == 612  # US Letter for en_US


def test_export_headers_name_the_file(borrower):
    client = borrower["client"]
    as_of = client.dashboard()["as_of"]
    expected = {
        "statement.pdf": ("application/pdf", f"loansyncro-statement-{as_of}.pdf"),
        "repayments.csv": ("text/csv; charset=utf-8; header=present", f"loansyncro-repayments-{as_of}.csv"),
        "loans.csv": ("text/csv; charset=utf-8; header=present", f"loansyncro-loans-{as_of}.csv"),
        "schedule.csv": ("text/csv; charset=utf-8; header=present", f"loansyncro-schedule-{as_of}.csv"),
        "history.json": ("application/json; charset=utf-8", f"loansyncro-history-{as_of}.json"),
    }
    for file_name, (content_type, download_name) in expected.items():
        response = client.download_export(file_name)
        assert response.headers["Content-Type"] == content_type, file_name
        assert response.headers["Content-Disposition"] == f'attachment; filename="{download_name}"', file_name
        assert response.headers["Cache-Control"] == "no-store", file_name


def test_exports_require_a_token(base_url):
    anonymous = ApiClient(base_url)
    for file_name in ("statement.pdf", "repayments.csv", "history.json"):
        response = anonymous.download_export(file_name, expected=None)
        assert response.status_code == 401, file_name


def test_other_users_loans_never_appear(borrower):
    neighbour = borrower["neighbour"]
    history = neighbour.download_history_json()
    assert [loan["id"] for loan in history["loans"]] == [borrower["theirs"]["id"]]

    foreign_id = borrower["loans"]["coche"]["id"]
    filtered = neighbour.download_history_json(loan_ids=foreign_id)
    assert filtered["loans"] == []
    rows = csv_rows(neighbour.download_repayments_csv(loan_ids=foreign_id))
    assert rows == []


def test_deleted_loan_never_appears(borrower):
    client = borrower["client"]
    gone = borrower["loans"]["gone"]["id"]
    history = client.download_history_json(loan_ids=gone)
    assert history["loans"] == []
    rows = csv_rows(client.download_repayments_csv())
    assert gone not in {row["loan_id"] for row in rows}


def test_filters_select_loans_and_time_frame(borrower):
    client = borrower["client"]
    coche = borrower["loans"]["coche"]["id"]
    history = client.download_history_json(loan_ids=coche, **{"from": "2025-03-01", "to": "2025-03-31"})
    assert [loan["id"] for loan in history["loans"]] == [coche]
    assert [item["paid_on"] for item in history["loans"][0]["repayments"]] == ["2025-03-10"]
    assert history["filters"] == {"loan_ids": [coche], "status": "all", "from": "2025-03-01", "to": "2025-03-31"}


def test_invalid_filter_is_rejected(borrower):
    response = borrower["client"].download_export("statement.pdf", expected=None, status="lost")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"


def test_gateway_answers_while_big_statement_renders(base_url, borrower):
    """Two 2,600-installment schedules take seconds to render; other users' requests must not wait for them."""
    heavy = new_user(base_url, display_name="Long loans", time_zone="UTC", locale="en_GB", currency="GBP")
    for name in ("Weekly one", "Weekly two"):
        heavy.create_loan(**loan_terms(name, "GBP", "900000.00", frequency="weekly", installments=2600))
    other = borrower["client"]

    finished: dict[str, float] = {}

    def download() -> None:
        started = time.monotonic()
        heavy.download_statement_pdf()
        finished["pdf"] = time.monotonic()
        finished["pdf_seconds"] = finished["pdf"] - started

    thread = threading.Thread(target=download)
    thread.start()
    answered: list[tuple[float, float]] = []
    while thread.is_alive():
        started = time.monotonic()
        other.dashboard()
        answered.append((started, time.monotonic()))
        time.sleep(0.05)
    thread.join()

    during = [(start, end) for start, end in answered if end < finished["pdf"]]
    assert finished["pdf_seconds"] > 1.0, "the statement rendered too fast to show anything; make it bigger"
    assert len(during) >= 3
    slowest = max(end - start for start, end in during)
    assert slowest < finished["pdf_seconds"] / 2
