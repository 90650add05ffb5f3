"""`loansyncro demo`: register a demo user with realistic loans through the HTTP API.

The story: a 30-year fixed mortgage, a 5-year car loan, a student loan in
euros and an interest-free loan from family, each with 18 monthly
repayments. One mortgage installment is paid 20 days late, the car loan gets
one extra payment of 2,000.00 that shortens its term, and the last family
installment is paid only in half. The loans start about 19 months before
today, so every repayment date is in the past and installment 19 is next.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TextIO

import requests
from dateutil.relativedelta import relativedelta

DEFAULT_URL: Final = "http://127.0.0.1:8000"
PAID_MONTHS: Final = 18
LATE_DAYS: Final = 20
EXTRA_PAYMENT: Final = Decimal("2000.00")


@dataclass(frozen=True)
class DemoLoan:
    key: str
    terms: dict[str, Any]
    # Installment number -> what happens to it: "late", "partial" or "extra".
    events: dict[int, str] = field(default_factory=dict)


def story_start(today: dt.date) -> dt.date:
    """Return a start date that puts installment 18 before today and installment 19 after it.

    The start day is kept at 28 or below, so every monthly period has 30 days
    under the 30/360 day count (a start on the 29th to 31st moves to the 1st
    of the next month).
    """
    start = today + dt.timedelta(days=1) - relativedelta(months=PAID_MONTHS + 1)
    if start.day > 28:
        start = dt.date(start.year, start.month, 1) + relativedelta(months=1)
    return start


def demo_loans(start: dt.date) -> list[DemoLoan]:
    common = {"start_date": start.isoformat(), "frequency": "monthly", "day_count": "30/360"}
    return [
        DemoLoan(
            "mortgage",
            {"name": "Home mortgage", "loan_type": "mortgage", "lender": "First National Bank", "currency": "USD",
             "principal": "320000.00", "annual_rate": "6.5", "installments": 360, **common},
            {7: "late"},
        ),
        DemoLoan(
            "car",
            {"name": "Car loan", "loan_type": "auto", "lender": "AutoFinance", "currency": "USD",
             "principal": "28000.00", "annual_rate": "7.9", "installments": 60, **common},
            {12: "extra"},
        ),
        DemoLoan(
            "student",
            {"name": "Student loan", "loan_type": "student", "lender": "KfW", "currency": "EUR",
             "principal": "18000.00", "annual_rate": "3.2", "installments": 120, **common},
        ),
        DemoLoan(
            "family",
            {"name": "Loan from family", "loan_type": "personal", "lender": "Parents", "currency": "USD",
             "principal": "6000.00", "annual_rate": "0", "method": "zero_interest", "installments": 24, **common},
            {PAID_MONTHS: "partial"},
        ),
    ]


def repayment_for(installment: dict[str, Any], event: str | None) -> dict[str, Any]:
    """Return the repayment body of one installment of the story."""
    due = dt.date.fromisoformat(installment["due_date"])
    amount = Decimal(installment["amount_due"])
    body: dict[str, Any] = {"paid_on": due.isoformat(), "method": "direct_debit"}
    if event == "late":
        body.update(paid_on=(due + dt.timedelta(days=LATE_DAYS)).isoformat(), method="bank_transfer", note="paid late")
    elif event == "partial":
        amount = (amount / 2).quantize(Decimal("0.01"))
        body["note"] = "paid half"
    elif event == "extra":
        amount += EXTRA_PAYMENT
        body.update(extra_mode="shorten_term", method="bank_transfer", note="bonus went to the car")
    body["amount"] = str(amount)
    return body


class DemoError(RuntimeError):
    pass


class Client:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> Any:
        headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "POST" else {}
        try:
            response = self.session.request(method, self.base_url + path, json=body, params=params, headers=headers, timeout=30)
        except requests.ConnectionError as error:
            raise DemoError(f"cannot reach {self.base_url}: start the system with 'make run' first ({error})") from error
        if response.status_code >= 400:
            raise DemoError(f"{method} {path} failed with {response.status_code}: {response.text[:400]}")
        return response.json() if response.content else None


@dataclass
class DemoResult:
    email: str
    password: str
    loans: dict[str, dict[str, Any]]
    repayments: dict[str, list[dict[str, Any]]]
    dashboard: dict[str, Any]


def run_story(base_url: str, progress: Callable[[str], None], today: dt.date | None = None) -> DemoResult:
    """Register a new user and create the story's loans and repayments; return what was created."""
    client = Client(base_url)
    email = f"demo+{uuid.uuid4().hex[:12]}@example.com"
    password = "demo-" + secrets.token_urlsafe(16)
    progress(f"Registering {email} ...")
    client.call("POST", "/api/v1/accounts", {"email": email, "password": password, "display_name": "Demo borrower", "time_zone": "UTC"})
    tokens = client.call("POST", "/api/v1/sessions", {"email": email, "password": password})
    client.session.headers["Authorization"] = f"Bearer {tokens['access_token']}"

    # The story ends in the past in the user's time zone (UTC here).
    start = story_start(today or dt.datetime.now(dt.UTC).date())
    loans: dict[str, dict[str, Any]] = {}
    repayments: dict[str, list[dict[str, Any]]] = {}
    for demo in demo_loans(start):
        loan = client.call("POST", "/api/v1/loans", demo.terms)
        loans[demo.key] = loan
        progress(f"Created {demo.terms['name']} ({demo.terms['currency']} {demo.terms['principal']}); logging {PAID_MONTHS} repayments ...")
        repayments[demo.key] = []
        for number in range(1, PAID_MONTHS + 1):
            # Ask for the schedule each time: an extra payment changes later installments.
            installments = client.call("GET", f"/api/v1/loans/{loan['id']}/schedule")["installments"]
            installment = next(item for item in installments if item["number"] == number)
            body = repayment_for(installment, demo.events.get(number))
            repayments[demo.key].append(client.call("POST", f"/api/v1/loans/{loan['id']}/repayments", body))
    progress("Reading the dashboard ...")
    board = client.call("GET", "/api/v1/dashboard", params={"upcoming_days": "30"})
    return DemoResult(email, password, loans, repayments, board)


def format_dashboard(board: dict[str, Any]) -> str:
    """Render the dashboard as plain-text tables."""
    lines = [f"Dashboard as of {board['as_of']} ({board['time_zone']})", ""]
    lines.append(f"{'Currency':<9}{'Loans':>6}{'Borrowed':>15}{'Repaid':>13}{'Interest paid':>15}{'Outstanding':>15}{'Arrears':>11}")
    for total in board["totals"]:
        lines.append(
            f"{total['currency']:<9}{total['loans']:>6}{total['borrowed']:>15}{total['repaid']:>13}"
            f"{total['interest_paid']:>15}{total['outstanding_principal']:>15}{total['arrears']:>11}"
        )
    lines += ["", f"{'Loan':<19}{'Cur':<5}{'Status':<10}{'Outstanding':>13}{'Principal paid':>16}{'Interest paid':>15}{'Next due':>12}{'Amount':>11}"]
    for loan in board["loans"]:
        lines.append(
            f"{loan['name'][:18]:<19}{loan['currency']:<5}{loan['status'] or '-':<10}{loan['outstanding_principal'] or '-':>13}"
            f"{loan['principal_paid'] or '-':>16}{loan['interest_paid'] or '-':>15}{loan['next_due_date'] or '-':>12}"
            f"{loan['next_due_amount'] or '-':>11}"
        )
    upcoming = board["upcoming"]
    lines += ["", f"Upcoming payments {upcoming['from']} to {upcoming['to']}:"]
    for item in upcoming["installments"]:
        lines.append(f"  {item['due_date']}  {item['name'][:24]:<25}{item['currency']} {item['amount']:>10}")
    if not upcoming["installments"]:
        lines.append("  none")
    lines.append("Overdue:")
    for item in board["overdue"]:
        lines.append(f"  {item['name'][:24]:<25}{item['currency']} {item['arrears']:>10}  {item['days_past_due']} days past due")
    if not board["overdue"]:
        lines.append("  none")
    return "\n".join(lines)


def main(base_url: str = DEFAULT_URL, out: TextIO = sys.stdout) -> int:
    def progress(message: str) -> None:
        print(message, file=out, flush=True)

    try:
        result = run_story(base_url, progress)
    except DemoError as error:
        print(f"loansyncro demo: {error}", file=sys.stderr)
        return 1
    progress(f"Done. Sign in as {result.email} with password {result.password}\n")
    print(format_dashboard(result.dashboard), file=out)
    return 0
