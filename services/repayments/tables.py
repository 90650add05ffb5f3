"""The repayments service's read model (schema "repayments"), written with each append."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

SCHEMA: Final = "repayments"
metadata = sa.MetaData(schema=SCHEMA)

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
    sa.Column("reference", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("extra_mode", sa.Text, nullable=False),
    sa.Column("reversed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reversal_reason", sa.Text),
    sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("repayments_loan_paid_on_idx", "loan_id", "paid_on", "logged_at"),
)
