"""Repayment decisions against a loan, without I/O."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from loansyncro.errors import Conflict, NotFound, ValidationFailed
from loansyncro.loan_stream import fold_loan
from loansyncro.repayment_stream import RepaymentLog, fold_repayments
from services.repayments import domain
from tests.unit.test_loans_domain import LOAN, OWNER, created_record, recorded

TODAY = dt.date(2025, 1, 1)


def logged_event(version: int, data: dict):
    return recorded(version, "RepaymentLogged", data)


def decide(payload: dict, log: RepaymentLog | None = None) -> dict:
    return domain.decide_log(created_record(), log or RepaymentLog({}, 0), payload, uuid.uuid4(), TODAY)


def test_decide_log_defaults():
    data = decide({"amount": "2022.62", "paid_on": "2024-02-15"})
    assert str(data["amount"]) == "2022.62"
    assert data["method"] == "bank_transfer"
    assert data["extra_mode"] == "shorten_term"
    assert data["currency"] == "USD"


def test_date_after_today_is_rejected():
    with pytest.raises(ValidationFailed, match="today is 2025-01-01") as caught:
        decide({"amount": "10.00", "paid_on": "2025-01-02"})
    assert caught.value.field == "paid_on"
    assert decide({"amount": "10.00", "paid_on": "2025-01-01"})["paid_on"] == TODAY


def test_amount_above_payoff_gives_payoff():
    # Principal 320,000.00 plus one month of 6.5 % interest under 30/360.
    with pytest.raises(ValidationFailed, match=r"payoff amount 321733\.33 USD on 2024-02-15") as caught:
        decide({"amount": "400000.00", "paid_on": "2024-02-15"})
    assert caught.value.field == "amount"
    assert str(decide({"amount": "321733.33", "paid_on": "2024-02-15"})["amount"]) == "321733.33"


def test_backdated_payment_before_payoff_rejected():
    payoff = decide({"amount": "321733.33", "paid_on": "2024-02-15"})
    log = fold_repayments([logged_event(1, payoff)])
    with pytest.raises(ValidationFailed) as caught:
        decide({"amount": "100.00", "paid_on": "2024-01-20"}, log)
    assert caught.value.field in ("paid_on", "amount")


def test_closed_loan_rejects_repayments():
    record = created_record()
    closed = fold_loan(
        [recorded(1, "LoanCreated", dict(record.created)), recorded(2, "LoanClosed", {"loan_id": LOAN, "owner_id": OWNER, "closed_on": TODAY})]
    )
    with pytest.raises(ValidationFailed) as caught:
        domain.check_loan_accepts_repayments(closed, OWNER, LOAN)
    assert caught.value.field == "loan_id"


def test_reverse_rules():
    data = decide({"amount": "10.00", "paid_on": "2024-02-15"})
    log = fold_repayments([logged_event(1, data)])
    record = created_record()
    with pytest.raises(NotFound):
        domain.decide_reverse(log, record, uuid.uuid4(), None)
    reversal = domain.decide_reverse(log, record, data["repayment_id"], "typo")
    reversed_log = fold_repayments([logged_event(1, data), recorded(2, "RepaymentReversed", reversal)])
    assert reversed_log.active() == []
    with pytest.raises(Conflict):
        domain.decide_reverse(reversed_log, record, data["repayment_id"], None)
