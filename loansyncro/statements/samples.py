"""Synthetic statement data, in the ledger's shape, for benchmarks and rendering tests.

The split of each payment into interest and principal is a simple
daily-interest model, which is enough to exercise rendering. It is not the
loan mathematics of `loansyncro.schedule`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def sample_loan(
    repayments: int,
    *,
    name: str = "Home loan",
    lender: str | None = "José Muñoz Crédito",
    currency: str = "EUR",
    principal: Decimal = Decimal("250000.00"),
    annual_rate: Decimal = Decimal("4.5"),
    start: dt.date = dt.date(2000, 1, 1),
    installments: int = 24,
) -> dict[str, Any]:
    """Build a loan with `repayments` daily payments from `start` and a monthly plan of `installments` rows."""
    loan_id = uuid.uuid5(uuid.NAMESPACE_URL, f"loansyncro-sample:{name}:{repayments}")
    daily_rate = annual_rate / Decimal(36500)
    payment = (principal / Decimal(max(repayments, 1) + 1)).quantize(CENT, ROUND_HALF_UP) + Decimal("5.00")
    balance = principal
    rows = []
    interest_paid = Decimal(0)

    for index in range(repayments):
        interest = (balance * daily_rate).quantize(CENT, ROUND_HALF_UP)
        principal_part = min(payment - interest, balance)
        balance -= principal_part
        interest_paid += interest
        rows.append(
            {
                "id": str(uuid.uuid5(loan_id, str(index))),
                "amount": str(payment),
                "currency": currency,
                "paid_on": (start + dt.timedelta(days=index + 1)).isoformat(),
                "method": "bank_transfer" if index % 5 else "card",
                "reversed": False,
                "interest": str(interest),
                "principal": str(principal_part),
                "prepayment": "0.00",
                "balance_after": str(balance),
                "extra_mode": "shorten_term",
            }
        )

    planned_payment = (principal / installments).quantize(CENT, ROUND_HALF_UP)
    schedule = []
    for number in range(1, installments + 1):
        due = dt.date(start.year + (start.month + number - 1) // 12, (start.month + number - 1) % 12 + 1, 1)
        planned_balance = max(principal - planned_payment * number, Decimal(0))
        schedule.append(
            {
                "number": number,
                "due_date": due.isoformat(),
                "amount_due": str(planned_payment),
                "paid": str(planned_payment),
                "remaining": "0.00",
                "status": "paid",
                "days_past_due": 0,
                "planned_payment": str(planned_payment),
                "planned_interest": "0.00",
                "planned_principal": str(planned_payment),
                "planned_balance": str(planned_balance),
            }
        )

    as_of = start + dt.timedelta(days=repayments + 1)
    total_paid = payment * repayments
    return {
        "id": str(loan_id),
        "name": name,
        "loan_type": "mortgage",
        "lender": lender,
        "currency": currency,
        "principal": str(principal),
        "annual_rate": str(annual_rate),
        "start_date": start.isoformat(),
        "status": "on_track",
        "as_of": as_of.isoformat(),
        "outstanding_principal": str(balance),
        "accrued_interest": "0.00",
        "principal_paid": str(principal - balance),
        "interest_paid": str(interest_paid),
        "total_paid": str(total_paid),
        "arrears": "0.00",
        "days_past_due": 0,
        "next_due_date": None,
        "next_due_amount": None,
        "payoff_amount": str(balance),
        "paid_off_on": None,
        "closed_on": None,
        "computation_error": None,
        "terms": {
            "principal": str(principal),
            "annual_rate": str(annual_rate),
            "day_count": "actual/365",
            "method": "annuity",
            "frequency": "monthly",
            "first_payment_date": None,
            "installments": installments,
            "end_date": None,
            "semi_monthly_days": None,
            "rounding": "half_up",
            "notes": None,
        },
        "term_changes": [],
        "lifecycle": "active",
        "installments": schedule,
        "repayments": rows,
    }


def sample_statement(loans: list[dict[str, Any]], time_zone: str = "Europe/Madrid") -> dict[str, Any]:
    """Wrap loans into statement data with per-currency totals summed from the loans."""
    totals: dict[str, dict[str, Any]] = {}
    for loan in loans:
        entry = totals.setdefault(
            loan["currency"],
            {"currency": loan["currency"], "loans": 0, **{key: Decimal(0) for key in _TOTAL_SOURCES}},
        )
        entry["loans"] += 1
        for key, source in _TOTAL_SOURCES.items():
            entry[key] += Decimal(loan[source] or 0)
    as_of = max((loan["as_of"] for loan in loans), default=dt.date(2026, 1, 1).isoformat())
    return {
        "format_version": 1,
        "as_of": as_of,
        "time_zone": time_zone,
        "filters": {"loan_ids": None, "status": "all", "from": None, "to": None},
        "totals": [
            {key: (str(value) if isinstance(value, Decimal) else value) for key, value in totals[currency].items()}
            for currency in sorted(totals)
        ],
        "loans": loans,
    }


# Totals field -> loan field it sums, as in the dashboard's totals.
_TOTAL_SOURCES = {
    "borrowed": "principal",
    "repaid": "total_paid",
    "principal_paid": "principal_paid",
    "interest_paid": "interest_paid",
    "outstanding_principal": "outstanding_principal",
    "payoff_amount": "payoff_amount",
    "arrears": "arrears",
}
