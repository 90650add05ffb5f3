"""Contracts of repayment events (stream type "repayments", one stream per loan: "repayments-<loan uuid>").

One stream per loan lets the repayments service check a new payment against
the payoff amount under optimistic concurrency: two concurrent payments on
the same loan cannot both pass a check made on the same balance.
"""

from __future__ import annotations

import marshmallow
from marshmallow import fields

from loansyncro.events.registry import contract


@contract("RepaymentLogged")
class RepaymentLogged(marshmallow.Schema):
    repayment_id = fields.UUID(required=True)
    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    amount = fields.Decimal(required=True, as_string=True)
    currency = fields.String(required=True)
    paid_on = fields.Date(required=True)
    method = fields.String(required=True)
    reference = fields.String(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True)
    # What an amount beyond the installment does: "shorten_term" or "lower_installment".
    extra_mode = fields.String(load_default="shorten_term")


@contract("RepaymentReversed")
class RepaymentReversed(marshmallow.Schema):
    repayment_id = fields.UUID(required=True)
    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    reason = fields.String(load_default=None, allow_none=True)
