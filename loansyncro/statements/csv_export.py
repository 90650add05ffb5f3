"""CSV exports of loans, schedules and repayments that spreadsheets open correctly.

- UTF-8 with a byte order mark, because Excel reads a CSV without one in the
  system's legacy code page and garbles "€" and "José Muñoz".
- One header row, CRLF line ends and minimal quoting (RFC 4180).
- Dates in ISO 8601 (YYYY-MM-DD).
- Amounts as plain decimals with a point ("-1234.50"), never grouped or with
  a currency sign. The currency code is in its own column.
- Formula injection (CWE-1236): a spreadsheet runs a cell that starts with
  =, +, -, @, tab or carriage return as a formula. Text columns that start
  with one of these get a leading apostrophe, which spreadsheets show as
  text. Numeric columns are never prefixed, so a negative amount stays a
  number: each numeric cell is parsed as a Decimal or integer first and
  written in canonical form, so it cannot hold anything but a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

BOM: Final = "\ufeff"
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: Any) -> str:
    """Return a text cell that a spreadsheet will not evaluate as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def decimal_cell(value: Any) -> str:
    """Return an amount as a plain decimal string; raise ValueError for anything else."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"Amount {value!r} is not a decimal number; the ledger must return amounts such as '12.50'.") from None
    if not number.is_finite():
        raise ValueError(f"Amount {value!r} is not a finite number.")
    return format(number, "f")


def integer_cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    return str(int(value))


def date_cell(value: Any) -> str:
    """Return an ISO date (YYYY-MM-DD); the ledger already sends dates in that form."""
    if value is None or value == "":
        return ""
    text = str(value)
    if not (len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()):
        raise ValueError(f"Date {value!r} is not an ISO date (YYYY-MM-DD).")
    return text


def boolean_cell(value: Any) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    cell: Callable[[Any], str]


def _text(key: str, header: str | None = None) -> Column:
    """Declare a text column read from `key`, headed `header` (default: the key)."""
    return Column(header or key, key, neutralise_text)


def _amount(key: str, header: str | None = None) -> Column:
    return Column(header or key, key, decimal_cell)


def _date(key: str, header: str | None = None) -> Column:
    return Column(header or key, key, date_cell)


LOAN_COLUMNS: Final = (
    _text("id", "loan_id"),
    _text("name"),
    _text("loan_type"),
    _text("lender"),
    _text("currency"),
    _amount("principal"),
    _amount("annual_rate", "annual_rate_percent"),
    _date("start_date"),
    _text("status"),
    _date("as_of"),
    _amount("outstanding_principal"),
    _amount("accrued_interest"),
    _amount("principal_paid"),
    _amount("interest_paid"),
    _amount("total_paid"),
    _amount("arrears"),
    Column("days_past_due", "days_past_due", integer_cell),
    _date("next_due_date"),
    _amount("next_due_amount"),
    _amount("payoff_amount"),
    _date("paid_off_on"),
    _date("closed_on"),
)

SCHEDULE_COLUMNS: Final = (
    _text("loan_id"),
    _text("loan_name"),
    _text("currency"),
    Column("number", "number", integer_cell),
    _date("due_date"),
    _amount("amount_due"),
    _amount("paid"),
    _amount("remaining"),
    _text("status"),
    Column("days_past_due", "days_past_due", integer_cell),
    _amount("planned_payment"),
    _amount("planned_interest"),
    _amount("planned_principal"),
    _amount("planned_balance"),
)

REPAYMENT_COLUMNS: Final = (
    _text("loan_id"),
    _text("loan_name"),
    _text("lender"),
    _text("id", "repayment_id"),
    _date("paid_on"),
    _amount("amount"),
    _text("currency"),
    _text("method"),
    _amount("principal"),
    _amount("interest"),
    _amount("prepayment"),
    _amount("balance_after"),
    Column("reversed", "reversed", boolean_cell),
    _text("extra_mode"),
)


def write_csv(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Render rows as UTF-8 CSV with a BOM and one header row."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header for column in columns])
    for row in rows:
        writer.writerow([column.cell(row.get(column.key)) for column in columns])
    return buffer.getvalue().encode("utf-8")


def loans_csv(statement: Mapping[str, Any]) -> bytes:
    return write_csv(LOAN_COLUMNS, statement["loans"])


def schedule_csv(statement: Mapping[str, Any]) -> bytes:
    rows = (
        {**installment, "loan_id": loan["id"], "loan_name": loan["name"], "currency": loan["currency"]}
        for loan in statement["loans"]
        for installment in loan["installments"]
    )
    return write_csv(SCHEDULE_COLUMNS, rows)


def repayments_csv(statement: Mapping[str, Any]) -> bytes:
    rows = (
        {**repayment, "loan_id": loan["id"], "loan_name": loan["name"], "lender": loan["lender"]}
        for loan in statement["loans"]
        for repayment in loan["repayments"]
    )
    return write_csv(REPAYMENT_COLUMNS, rows)
