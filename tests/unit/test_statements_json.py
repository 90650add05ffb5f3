"""JSON history export: format name and version, exact amounts, and a re-importable shape."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from loansyncro.statements import history_json
from loansyncro.statements.json_export import FORMAT_NAME
from loansyncro.statements.samples import sample_loan, sample_statement

GENERATED_AT = dt.datetime(2026, 12, 4, 21, 30, tzinfo=dt.UTC)


@pytest.fixture
def document() -> dict:
    statement = sample_statement([sample_loan(5, name="Кредит", lender="José Muñoz", currency="EUR")])
    return json.loads(history_json(statement, GENERATED_AT))


def test_json_names_format_and_version(document):
    assert document["format"] == FORMAT_NAME
    assert document["format_version"] == 1
    assert document["generated_at"] == "2026-12-04T21:30:00+00:00"


def test_json_keeps_amounts_as_strings(document):
    repayment = document["loans"][0]["repayments"][0]
    assert isinstance(repayment["amount"], str)
    assert Decimal(repayment["amount"]) > 0
    assert isinstance(document["totals"][0]["outstanding_principal"], str)


def test_json_contains_terms_for_reimport(document):
    loan = document["loans"][0]
    for field in ("name", "loan_type", "lender", "currency", "principal", "annual_rate", "start_date"):
        assert loan[field] is not None
    assert loan["terms"]["installments"] == 24
    assert loan["terms"]["principal"] == "250000.00"
    assert loan["terms"]["annual_rate"] == "4.5"
    assert loan["terms"]["method"] == "annuity"
    assert loan["term_changes"] == []


def test_json_is_utf8_without_escapes():
    statement = sample_statement([sample_loan(1, name="Кредит", lender="José Muñoz")])
    data = history_json(statement, GENERATED_AT)
    assert "Кредит".encode() in data
    assert "José Muñoz".encode() in data


def test_json_rejects_naive_generated_at():
    with pytest.raises(ValueError, match="timezone-aware"):
        history_json(sample_statement([]), dt.datetime(2026, 1, 1))
