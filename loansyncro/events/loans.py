"""Contracts of the Loan aggregate's events (stream type "loan", stream id "loan-<uuid>")."""

from __future__ import annotations

import marshmallow
from marshmallow import fields

from loansyncro.events.registry import contract


@contract("LoanCreated")
class LoanCreated(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    name = fields.String(required=True)
    loan_type = fields.String(required=True)
    lender = fields.String(load_default=None, allow_none=True)
    currency = fields.String(required=True)
    principal = fields.Decimal(required=True, as_string=True)
    # Nominal annual rate in percent: "6.5" is 6.5 %.
    annual_rate = fields.Decimal(required=True, as_string=True)
    day_count = fields.String(required=True)
    method = fields.String(required=True)
    frequency = fields.String(required=True)
    start_date = fields.Date(required=True)
    first_payment_date = fields.Date(load_default=None, allow_none=True)
    installments = fields.Integer(load_default=None, allow_none=True)
    end_date = fields.Date(load_default=None, allow_none=True)
    semi_monthly_days = fields.List(fields.Integer(), load_default=None, allow_none=True)
    rounding = fields.String(load_default="half_up")
    notes = fields.String(load_default=None, allow_none=True)


@contract("LoanDetailsChanged")
class LoanDetailsChanged(marshmallow.Schema):
    """Descriptive fields only; money terms change through LoanTermsChanged."""

    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    name = fields.String(load_default=None, allow_none=True)
    loan_type = fields.String(load_default=None, allow_none=True)
    lender = fields.String(load_default=None, allow_none=True)
    notes = fields.String(load_default=None, allow_none=True)


@contract("LoanTermsChanged")
class LoanTermsChanged(marshmallow.Schema):
    """A rate or term change that re-plans the schedule from `effective_date` on."""

    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    effective_date = fields.Date(required=True)
    annual_rate = fields.Decimal(as_string=True, load_default=None, allow_none=True)
    remaining_installments = fields.Integer(load_default=None, allow_none=True)
    end_date = fields.Date(load_default=None, allow_none=True)


@contract("LoanClosed")
class LoanClosed(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    closed_on = fields.Date(required=True)
    reason = fields.String(load_default=None, allow_none=True)


@contract("LoanDeleted")
class LoanDeleted(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
