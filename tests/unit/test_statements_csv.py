"""CSV exports: encoding, header, ISO dates, plain amounts and formula neutralisation."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from loansyncro.statements import loans_csv, repayments_csv, schedule_csv
from loansyncro.statements.csv_export import REPAYMENT_COLUMNS, decimal_cell, neutralise_text, write_csv
from loansyncro.statements.samples import sample_loan, sample_statement


def parse(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.fixture
def statement() -> dict:
    return sample_statement([sample_loan(3, name="Piso", lender="José Muñoz", currency="EUR")])


def test_csv_starts_with_utf8_bom(statement):
    for export in (loans_csv, schedule_csv, repayments_csv):
        assert export(statement).startswith(b"\xef\xbb\xbf")


def test_csv_encodes_euro_sign_as_utf8():
    row = {"id": "r1", "loan_name": "Préstamo €", "amount": "1.00", "currency": "EUR", "paid_on": "2026-01-02", "reversed": False}
    data = write_csv(REPAYMENT_COLUMNS, [row])
    assert b"Pr\xc3\xa9stamo \xe2\x82\xac" in data


def test_csv_round_trips_accented_names(statement):
    rows = parse(repayments_csv(statement))
    assert {row["lender"] for row in rows} == {"José Muñoz"}
    assert parse(loans_csv(statement))[0]["lender"] == "José Muñoz"


def test_loans_csv_lists_loan_figures(statement):
    loan = statement["loans"][0]
    row = parse(loans_csv(statement))[0]
    assert row["loan_id"] == loan["id"]
    assert row["name"] == "Piso"
    assert row["currency"] == "EUR"
    assert row["outstanding_principal"] == loan["outstanding_principal"]
    assert row["start_date"] == "2000-01-01"


def test_csv_has_one_header_row(statement):
    text = repayments_csv(statement).decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0].startswith("loan_id,loan_name,lender,repayment_id,paid_on,amount,currency,method")
    assert sum(1 for line in lines if line.startswith("loan_id,")) == 1
    # Three repayments, the header and the empty string after the last CRLF.
    assert len(lines) == 5
    assert lines[-1] == ""


def test_csv_dates_are_iso_and_amounts_plain(statement):
    rows = parse(repayments_csv(statement))
    first = rows[0]
    assert first["paid_on"] == "2000-01-02"
    assert first["currency"] == "EUR"
    assert Decimal(first["amount"]) == Decimal(statement["loans"][0]["repayments"][0]["amount"])
    for row in rows:
        for column in ("amount", "principal", "interest", "balance_after"):
            assert "," not in row[column]
            assert "€" not in row[column]


def test_schedule_csv_lists_installments(statement):
    rows = parse(schedule_csv(statement))
    assert len(rows) == len(statement["loans"][0]["installments"])
    assert rows[0]["number"] == "1"
    assert rows[0]["due_date"] == "2000-02-01"
    assert rows[0]["loan_name"] == "Piso"


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_with_trigger_is_neutralised(trigger):
    assert neutralise_text(trigger + "1+1") == "'" + trigger + "1+1"


def test_plain_text_is_unchanged():
    assert neutralise_text("José Muñoz") == "José Muñoz"
    assert neutralise_text(None) == ""
    assert neutralise_text("a=b") == "a=b"


def test_formula_in_loan_name_is_neutralised():
    statement = sample_statement([sample_loan(1, name='=HYPERLINK("http://example.invalid","x")', lender="@SUM(A1)")])
    row = parse(loans_csv(statement))[0]
    assert row["name"] == '\'=HYPERLINK("http://example.invalid","x")'
    assert row["lender"] == "'@SUM(A1)"


def test_negative_amount_stays_numeric():
    row = {"id": "r1", "loan_name": "-Loan", "amount": "-12.50", "currency": "EUR", "paid_on": "2026-01-02", "reversed": False}
    parsed = parse(write_csv(REPAYMENT_COLUMNS, [row]))[0]
    assert parsed["amount"] == "-12.50"
    assert parsed["loan_name"] == "'-Loan"


def test_amount_column_rejects_text():
    with pytest.raises(ValueError, match="'=1\\+1' is not a decimal number"):
        decimal_cell("=1+1")


def test_amount_column_rejects_infinity():
    with pytest.raises(ValueError, match="not a finite number"):
        decimal_cell("Infinity")


def test_amount_exponent_is_written_plain():
    assert decimal_cell("1E+3") == "1000"
