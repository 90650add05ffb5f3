"""Response bodies of the loans, repayments, dashboard and notifications routes, for the OpenAPI document.

The services build these bodies; the gateway passes them through unchanged.
The schemas only describe them, and an end-to-end test checks real responses
against the published document, so a field a service adds or drops shows up
there. Amounts are decimal strings in the currency's minor units.
"""

from __future__ import annotations

import marshmallow
from marshmallow import fields

AMOUNT = {"description": "Decimal string in the currency's minor units, such as '284.58'"}


def _amount(**options: object) -> fields.String:
    return fields.String(metadata=AMOUNT, **options)  # type: ignore[arg-type]


def _nullable_amount() -> fields.String:
    return _amount(allow_none=True)


class _Page(marshmallow.Schema):
    """One page of a list; subclasses add `items`."""

    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class TermChange(marshmallow.Schema):
    effective_date = fields.Date(required=True)
    annual_rate = fields.String(allow_none=True)
    remaining_installments = fields.Integer(allow_none=True)
    end_date = fields.Date(allow_none=True)


class AllocatedRepayment(marshmallow.Schema):
    """One repayment and its split into interest, principal and prepayment, in a loan's balance."""

    id = fields.UUID(required=True)
    amount = _amount(required=True)
    currency = fields.String(required=True)
    paid_on = fields.Date(required=True)
    method = fields.String(required=True)
    reversed = fields.Boolean(required=True)
    interest = _amount(required=True)
    principal = _amount(required=True)
    prepayment = _amount(required=True)
    balance_after = _amount(required=True)


class LoanFigures(marshmallow.Schema):
    """A loan's standing as of a date, as the ledger projects it."""

    id = fields.UUID(required=True)
    name = fields.String(required=True)
    loan_type = fields.String(required=True)
    lender = fields.String(allow_none=True)
    currency = fields.String(required=True)
    principal = _amount(required=True)
    annual_rate = fields.String(required=True)
    start_date = fields.Date(required=True)
    status = fields.String(required=True, metadata={"description": "on_track, overdue, paid_off or closed"})
    as_of = fields.Date(required=True)
    outstanding_principal = _nullable_amount()
    accrued_interest = _nullable_amount()
    principal_paid = _nullable_amount()
    interest_paid = _nullable_amount()
    total_paid = _nullable_amount()
    arrears = _nullable_amount()
    days_past_due = fields.Integer(allow_none=True)
    next_due_date = fields.Date(allow_none=True)
    next_due_amount = _nullable_amount()
    payoff_amount = _nullable_amount()
    paid_off_on = fields.Date(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    computation_error = fields.String(
        allow_none=True, metadata={"description": "Why the figures could not be computed; the amounts are then null"}
    )
    repayments = fields.List(fields.Nested(AllocatedRepayment), metadata={"description": "In a single loan's balance only"})


class Loan(marshmallow.Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    loan_type = fields.String(required=True)
    lender = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    currency = fields.String(required=True)
    principal = _amount(required=True)
    annual_rate = fields.String(required=True, metadata={"description": "Nominal annual rate in percent at the start"})
    current_annual_rate = fields.String(required=True, metadata={"description": "The rate after the latest term change"})
    day_count = fields.String(required=True)
    method = fields.String(required=True)
    frequency = fields.String(required=True)
    start_date = fields.Date(required=True)
    first_payment_date = fields.Date(allow_none=True)
    installments = fields.Integer(allow_none=True)
    end_date = fields.Date(allow_none=True)
    status = fields.String(required=True, metadata={"description": "active, closed or deleted"})
    closed_on = fields.Date(allow_none=True)
    term_changes = fields.List(fields.Nested(TermChange), required=True)
    version = fields.Integer(required=True, metadata={"description": "Version of the loan's event stream"})
    balance = fields.Nested(
        LoanFigures, allow_none=True, metadata={"description": "Only when reading one loan: its figures as of today"}
    )


class LoanPage(_Page):
    items = fields.List(fields.Nested(Loan), required=True)


class ScheduledInstallment(marshmallow.Schema):
    number = fields.Integer(required=True)
    due_date = fields.Date(required=True)
    amount_due = _amount(required=True)
    paid = _amount(required=True)
    remaining = _amount(required=True)
    status = fields.String(required=True, metadata={"description": "paid, partially_paid, due, overdue or upcoming"})
    days_past_due = fields.Integer(required=True)
    planned_payment = _amount(required=True)
    planned_interest = _amount(required=True)
    planned_principal = _amount(required=True)
    planned_balance = _amount(required=True)


class Schedule(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    currency = fields.String(required=True)
    as_of = fields.Date(required=True)
    installments = fields.List(fields.Nested(ScheduledInstallment), required=True)


class Repayment(marshmallow.Schema):
    id = fields.UUID(required=True)
    loan_id = fields.UUID(required=True)
    amount = _amount(required=True)
    currency = fields.String(required=True)
    paid_on = fields.Date(required=True)
    method = fields.String(required=True)
    reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    extra_mode = fields.String(required=True)
    reversed = fields.Boolean(required=True)
    reversal_reason = fields.String(allow_none=True)
    logged_at = fields.DateTime(required=True)
    stream_id = fields.String(metadata={"description": "After a write: the repayments stream written to"})
    version = fields.Integer(metadata={"description": "After a write: that stream's version"})


class RepaymentPage(_Page):
    items = fields.List(fields.Nested(Repayment), required=True)


class CurrencyTotals(marshmallow.Schema):
    currency = fields.String(required=True)
    loans = fields.Integer(required=True)
    borrowed = _amount(required=True)
    repaid = _amount(required=True)
    principal_paid = _amount(required=True)
    interest_paid = _amount(required=True)
    outstanding_principal = _amount(required=True)
    payoff_amount = _amount(required=True)
    arrears = _amount(required=True)


class UpcomingInstallment(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    number = fields.Integer(required=True)
    due_date = fields.Date(required=True)
    amount = _amount(required=True)
    status = fields.String(required=True)


class Upcoming(marshmallow.Schema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    installments = fields.List(fields.Nested(UpcomingInstallment), required=True)


class OverdueLoan(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    arrears = _amount(required=True)
    days_past_due = fields.Integer(required=True)


class BalancePoint(marshmallow.Schema):
    date = fields.Date(required=True)
    balance = _amount(required=True)


class BalanceSeries(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    planned = fields.List(fields.Nested(BalancePoint), required=True)
    actual = fields.List(fields.Nested(BalancePoint), required=True)


class MonthlyPayments(marshmallow.Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    currency = fields.String(required=True)
    principal = _amount(required=True)
    interest = _amount(required=True)
    total = _amount(required=True)


class LoanBalance(marshmallow.Schema):
    loan_id = fields.UUID(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    principal = _amount(required=True)
    outstanding_principal = _nullable_amount()
    principal_paid = _nullable_amount()


class Charts(marshmallow.Schema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    balance_over_time = fields.List(fields.Nested(BalanceSeries), required=True)
    payments_by_month = fields.List(fields.Nested(MonthlyPayments), required=True)
    balances_by_loan = fields.List(fields.Nested(LoanBalance), required=True)


class Dashboard(marshmallow.Schema):
    as_of = fields.Date(required=True)
    time_zone = fields.String(required=True)
    totals = fields.List(fields.Nested(CurrencyTotals), required=True, metadata={"description": "One entry per currency"})
    loans = fields.List(fields.Nested(LoanFigures), required=True)
    upcoming = fields.Nested(Upcoming, required=True)
    overdue = fields.List(fields.Nested(OverdueLoan), required=True)
    charts = fields.Nested(Charts, required=True)


class Notification(marshmallow.Schema):
    id = fields.UUID(required=True)
    occasion_event_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    purpose = fields.String(required=True)
    channel = fields.String(required=True, metadata={"description": "email or sms"})
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    loan_id = fields.UUID(allow_none=True)
    loan_name = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)
    amount = _nullable_amount()
    currency = fields.String(allow_none=True)
    due_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(allow_none=True)
    provider_id = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class NotificationPage(_Page):
    items = fields.List(fields.Nested(Notification), required=True)


class QueuedNotifications(marshmallow.Schema):
    items = fields.List(fields.Nested(Notification), required=True)
