"""Loan aggregate: decisions on loan commands.

Pure code: no I/O and no clock. The fold of a loan's events, which the
repayments and ledger services share, is in `loansyncro.loan_stream`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from loansyncro.command_input import parse_date, validation_failed
from loansyncro.errors import Conflict, ValidationFailed
from loansyncro.loan_stream import DETAIL_FIELDS, LoanRecord, term_changes_of, terms_of
from loansyncro.schedule import LoanTerms, LoanValidationError, TermChange

LOAN_TYPES: Final = ("mortgage", "auto", "student", "personal", "business", "credit_line", "other")
LOAN_STATUSES: Final = ("active", "closed", "deleted")
MAX_NAME_LENGTH: Final = 200
MAX_TEXT_LENGTH: Final = 2000

# Fields the server sets; a client that sends one gets a 422 naming it.
SERVER_FIELDS: Final = frozenset(
    {"id", "loan_id", "owner_id", "user_id", "status", "balance", "outstanding", "created_at", "version"}
)
CREATE_FIELDS: Final = frozenset(
    {
        "name", "loan_type", "lender", "currency", "principal", "annual_rate", "day_count", "method",
        "frequency", "start_date", "first_payment_date", "installments", "end_date", "notes",
    }
)
TERM_CHANGE_FIELDS: Final = frozenset({"effective_date", "annual_rate", "remaining_installments", "end_date"})
CLOSE_FIELDS: Final = frozenset({"closed_on", "reason"})


# Guards ---------------------------------------------------------------------


def check_loan_is_open(record: LoanRecord) -> None:
    if record.status == "closed":
        raise Conflict(f"loan {record.loan_id} was closed on {record.closed_on}; closed loans cannot change")


# Input parsing --------------------------------------------------------------


def _check_fields(payload: Mapping[str, Any], allowed: frozenset[str]) -> None:
    if not isinstance(payload, Mapping):
        raise ValidationFailed("body", None, "the request body must be a JSON object")
    for key in sorted(payload):
        if key in SERVER_FIELDS:
            raise ValidationFailed(key, payload[key], f"{key} is set by the server; leave it out of the request")
        if key not in allowed:
            raise ValidationFailed(
                key, payload[key], f"{key} is not a known field; use only {', '.join(sorted(allowed))}"
            )


def _text(payload: Mapping[str, Any], key: str, *, required: bool, max_length: int) -> str | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise ValidationFailed(key, None, f"{key} is missing; pass a non-empty string")
        return None
    if not isinstance(value, str):
        raise ValidationFailed(key, value, f"{key} must be a string")
    value = value.strip()
    if required and not value:
        raise ValidationFailed(key, value, f"{key} is empty; pass a non-empty string")
    if len(value) > max_length:
        raise ValidationFailed(key, value[:40], f"{key} is longer than {max_length} characters; shorten it")
    return value


def _loan_type(value: object) -> str:
    if value not in LOAN_TYPES:
        raise ValidationFailed("loan_type", value, f"loan_type {value!r} is not supported; use one of {', '.join(LOAN_TYPES)}")
    return str(value)


def _decimal_text(payload: Mapping[str, Any], key: str, *, required: bool) -> Any:
    """Return the raw amount for the loan maths to check; JSON numbers are rejected, strings are expected."""
    value = payload.get(key)
    if value is None:
        if required:
            raise ValidationFailed(key, None, f"{key} is missing; pass it as a decimal string such as '1000.00'")
        return None
    if not isinstance(value, (str, Decimal)):
        raise ValidationFailed(key, value, f"{key} must be a decimal string such as '1000.00', not a JSON number")
    return value


def _installments(payload: Mapping[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(key, value, f"{key} must be a whole number")
    return value


def decide_create(owner_id: uuid.UUID, loan_id: uuid.UUID, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a new loan; return the LoanCreated data. Raises ValidationFailed naming the field."""
    _check_fields(payload, CREATE_FIELDS)
    data: dict[str, Any] = {
        "loan_id": loan_id,
        "owner_id": owner_id,
        "name": _text(payload, "name", required=True, max_length=MAX_NAME_LENGTH),
        "loan_type": _loan_type(payload.get("loan_type", "other")),
        "lender": _text(payload, "lender", required=False, max_length=MAX_NAME_LENGTH),
        "notes": _text(payload, "notes", required=False, max_length=MAX_TEXT_LENGTH),
        "currency": _text(payload, "currency", required=True, max_length=3),
        "day_count": payload.get("day_count", "30/360"),
        "method": payload.get("method", "annuity"),
        "frequency": payload.get("frequency", "monthly"),
        "start_date": parse_date(payload, "start_date", required=True),
        "first_payment_date": parse_date(payload, "first_payment_date", required=False),
        "installments": _installments(payload, "installments"),
        "end_date": parse_date(payload, "end_date", required=False),
    }
    principal = _decimal_text(payload, "principal", required=True)
    rate = _decimal_text(payload, "annual_rate", required=True)
    try:
        terms = LoanTerms(
            principal=principal,
            annual_rate=rate,
            currency=data["currency"],
            start_date=data["start_date"],
            first_payment_date=data["first_payment_date"],
            installments=data["installments"],
            end_date=data["end_date"],
            frequency=data["frequency"],
            method=data["method"],
            day_count=data["day_count"],
        )
        # The first plan must be payable: this raises for an installment below the interest.
        from loansyncro.schedule import build_schedule

        build_schedule(terms)
    except LoanValidationError as error:
        raise validation_failed(error) from error
    data.update(
        currency=terms.currency,
        principal=terms.principal,
        annual_rate=terms.annual_rate,
        day_count=terms.day_count.value,
        method=terms.method.value,
        frequency=terms.frequency.value,
        rounding=terms.rounding,
    )
    return data


def decide_change_details(record: LoanRecord, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return LoanDetailsChanged data, or None when nothing would change."""
    _check_fields(payload, DETAIL_FIELDS)
    changed: dict[str, Any] = {}
    if "name" in payload:
        changed["name"] = _text(payload, "name", required=True, max_length=MAX_NAME_LENGTH)
    if "loan_type" in payload:
        changed["loan_type"] = _loan_type(payload["loan_type"])
    for key in ("lender", "notes"):
        if key in payload:
            # Null clears the field; the event stores an empty string for "cleared".
            value = _text(payload, key, required=False, max_length=MAX_TEXT_LENGTH)
            changed[key] = value if value else ""
    changed = {key: value for key, value in changed.items() if (record.details.get(key) or "") != value}
    if not changed:
        return None
    return {"loan_id": record.loan_id, "owner_id": record.owner_id, **changed}


def decide_change_terms(record: LoanRecord, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a rate or term change against the loan; return LoanTermsChanged data."""
    from loansyncro.schedule import loan_state

    check_loan_is_open(record)
    _check_fields(payload, TERM_CHANGE_FIELDS)
    effective = parse_date(payload, "effective_date", required=True)
    assert effective is not None
    data = {
        "loan_id": record.loan_id,
        "owner_id": record.owner_id,
        "effective_date": effective,
        "annual_rate": _decimal_text(payload, "annual_rate", required=False),
        "remaining_installments": _installments(payload, "remaining_installments"),
        "end_date": parse_date(payload, "end_date", required=False),
    }
    if any(change["effective_date"] == effective for change in record.term_changes):
        raise ValidationFailed(
            "effective_date", effective.isoformat(),
            f"a term change already takes effect on {effective.isoformat()}; pick another date",
        )
    try:
        change = TermChange(
            effective_on=effective,
            annual_rate=data["annual_rate"],
            installments=data["remaining_installments"],
            end_date=data["end_date"],
        )
        # Re-planning with no repayments checks the change against the terms (start date,
        # zero-interest method, end date after the next due date).
        loan_state(terms_of(record), (), effective, (*term_changes_of(record), change))
    except LoanValidationError as error:
        field_name = "effective_date" if error.field == "effective_on" else error.field
        field_name = "remaining_installments" if field_name == "installments" else field_name
        raise ValidationFailed(field_name, error.value, error.message) from error
    data["annual_rate"] = change.annual_rate
    return data


def decide_close(record: LoanRecord, payload: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    check_loan_is_open(record)
    _check_fields(payload, CLOSE_FIELDS)
    closed_on = parse_date(payload, "closed_on", required=False) or today
    if closed_on < record.start_date:
        raise ValidationFailed(
            "closed_on", closed_on.isoformat(),
            f"closed_on {closed_on.isoformat()} is before the loan started on {record.start_date.isoformat()}",
        )
    reason = _text(payload, "reason", required=False, max_length=MAX_TEXT_LENGTH)
    return {"loan_id": record.loan_id, "owner_id": record.owner_id, "closed_on": closed_on, "reason": reason}


@dataclass(frozen=True)
class LoanFilter:
    """Listing options: status active, closed or all; optional type and lender; sort; page."""

    status: str = "active"
    loan_type: str | None = None
    lender: str | None = None
    sort: str = "created_at"
    descending: bool = False
    limit: int = 50
    offset: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)


SORT_KEYS: Final = ("created_at", "name", "start_date", "principal")
MAX_PAGE_SIZE: Final = 200


def parse_filter(query: Mapping[str, Any]) -> LoanFilter:
    """Parse list options (query-string values may be strings); raise ValidationFailed naming the option."""
    status = query.get("status") or "active"
    if status not in ("active", "closed", "all"):
        raise ValidationFailed("status", status, f"status {status!r} is not supported; use active, closed or all")
    loan_type = query.get("loan_type") or query.get("type")
    if loan_type is not None:
        _loan_type(loan_type)
    sort = str(query.get("sort") or "created_at")
    descending = sort.startswith("-")
    sort_key = sort.lstrip("-")
    if sort_key not in SORT_KEYS:
        raise ValidationFailed("sort", sort, f"sort {sort!r} is not supported; use one of {', '.join(SORT_KEYS)}, with '-' for descending")
    limit = _int_option(query, "limit", 50, 1, MAX_PAGE_SIZE)
    offset = _int_option(query, "offset", 0, 0, 10**9)
    return LoanFilter(status, loan_type, query.get("lender") or None, sort_key, descending, limit, offset)


def _int_option(query: Mapping[str, Any], key: str, default: int, minimum: int, maximum: int) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(key, raw, f"{key} {raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ValidationFailed(key, raw, f"{key} {raw} is out of range; pass {minimum} to {maximum}")
    return value
