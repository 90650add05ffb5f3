"""The ledger's projections (schema "ledger"): loans, installments, repayments, user totals.

Amounts are NUMERIC in the loan's currency. Every row with an amount has a
currency column or belongs to a loan row that has one, and totals are kept
per currency.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from loansyncro.consumer import consumer_tables

SCHEMA: Final = "ledger"
metadata = sa.MetaData(schema=SCHEMA)

tracking = consumer_tables(metadata)

loans = sa.Table(
    "loans",
    metadata,
    sa.Column("loan_id", sa.Uuid, primary_key=True),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("loan_type", sa.Text, nullable=False),
    sa.Column("lender", sa.Text),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("principal", sa.Numeric, nullable=False),
    sa.Column("annual_rate", sa.Numeric, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    # The loan's lifecycle from its own events: active, closed or deleted.
    sa.Column("lifecycle", sa.Text, nullable=False),
    sa.Column("closed_on", sa.Date),
    # LoanCreated data and the LoanTermsChanged data in order, as stored (JSON values).
    sa.Column("created_data", JSONB, nullable=False),
    sa.Column("term_changes", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    # IANA zone in which "today" is judged; the gateway passes the user's zone on reads.
    sa.Column("time_zone", sa.Text, nullable=False, server_default="UTC"),
    # Computed state as of `as_of`; NULL until the first computation.
    sa.Column("as_of", sa.Date),
    sa.Column("outstanding_principal", sa.Numeric),
    sa.Column("accrued_interest", sa.Numeric),
    sa.Column("principal_paid", sa.Numeric),
    sa.Column("interest_paid", sa.Numeric),
    sa.Column("total_paid", sa.Numeric),
    sa.Column("arrears", sa.Numeric),
    sa.Column("days_past_due", sa.Integer),
    sa.Column("next_due_date", sa.Date),
    sa.Column("next_due_amount", sa.Numeric),
    sa.Column("payoff_amount", sa.Numeric),
    sa.Column("paid_off_on", sa.Date),
    # on_track, overdue, paid_off or closed; deleted loans keep their last standing.
    sa.Column("standing", sa.Text),
    sa.Column("computation_error", sa.Text),
    sa.Index("ledger_loans_owner_idx", "owner_id", "lifecycle"),
    # The notifier's due-date scan reads loans by next due date.
    sa.Index("ledger_loans_next_due_date_idx", "next_due_date"),
)

installments = sa.Table(
    "installments",
    metadata,
    sa.Column("loan_id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("amount_due", sa.Numeric, nullable=False),
    sa.Column("paid", sa.Numeric, nullable=False),
    sa.Column("remaining", sa.Numeric, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("days_past_due", sa.Integer, nullable=False),
    # The original plan's row of the same number, when it has one.
    sa.Column("planned_payment", sa.Numeric),
    sa.Column("planned_interest", sa.Numeric),
    sa.Column("planned_principal", sa.Numeric),
    sa.Column("planned_balance", sa.Numeric),
    sa.Index("ledger_installments_due_date_idx", "due_date"),
)

repayments = sa.Table(
    "repayments",
    metadata,
    sa.Column("repayment_id", sa.Uuid, primary_key=True),
    sa.Column("loan_id", sa.Uuid, nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("amount", sa.Numeric, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("paid_on", sa.Date, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("extra_mode", sa.Text, nullable=False),
    sa.Column("reversed", sa.Boolean, nullable=False, server_default=sa.false()),
    # Allocation of the payment; NULL for reversed payments and before the loan is known.
    sa.Column("interest", sa.Numeric),
    sa.Column("principal", sa.Numeric),
    sa.Column("prepayment", sa.Numeric),
    sa.Column("balance_after", sa.Numeric),
    sa.Index("ledger_repayments_loan_idx", "loan_id", "paid_on"),
    sa.Index("ledger_repayments_owner_idx", "owner_id", "paid_on"),
)

user_totals = sa.Table(
    "user_totals",
    metadata,
    sa.Column("owner_id", sa.Uuid, primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("loans", sa.Integer, nullable=False),
    sa.Column("borrowed", sa.Numeric, nullable=False),
    sa.Column("principal_paid", sa.Numeric, nullable=False),
    sa.Column("interest_paid", sa.Numeric, nullable=False),
    sa.Column("total_paid", sa.Numeric, nullable=False),
    sa.Column("outstanding_principal", sa.Numeric, nullable=False),
    sa.Column("payoff_amount", sa.Numeric, nullable=False),
    sa.Column("arrears", sa.Numeric, nullable=False),
)

PROJECTION_TABLES: Final = (installments, repayments, user_totals, loans)
