"""Contracts of due-date and reminder events.

The ledger appends InstallmentDueSoon and InstallmentOverdue to the stream
"reminders-<loan uuid>" with event ids derived from (loan, installment,
occasion), so each occasion is recorded once whichever replica scans first.
The notifier appends ReminderSent to "notifications-<user uuid>".
"""

from __future__ import annotations

import marshmallow
from marshmallow import fields

from loansyncro.events.registry import contract


@contract("InstallmentDueSoon")
class InstallmentDueSoon(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    loan_name = fields.String(required=True)
    installment_number = fields.Integer(required=True)
    due_date = fields.Date(required=True)
    amount_due = fields.Decimal(required=True, as_string=True)
    currency = fields.String(required=True)
    days_before = fields.Integer(required=True)


@contract("InstallmentOverdue")
class InstallmentOverdue(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    loan_name = fields.String(required=True)
    installment_number = fields.Integer(required=True)
    due_date = fields.Date(required=True)
    amount_overdue = fields.Decimal(required=True, as_string=True)
    currency = fields.String(required=True)
    days_past_due = fields.Integer(required=True)
    # 0 for the first alert, then 1, 2, ... for each repeat the user asked for.
    repeat = fields.Integer(required=True)


@contract("ReminderSent")
class ReminderSent(marshmallow.Schema):
    notification_id = fields.UUID(required=True)
    owner_id = fields.UUID(required=True)
    occasion_event_id = fields.UUID(required=True)
    channel = fields.String(required=True)
    provider_id = fields.String(load_default=None, allow_none=True)
