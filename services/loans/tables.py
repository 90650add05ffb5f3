"""The loans service's read model (schema "loans"), written in the same transaction as each append."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA: Final = "loans"
metadata = sa.MetaData(schema=SCHEMA)

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
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The loan as the API returns it, so a listing needs no event reads.
    sa.Column("document", JSONB, nullable=False),
    sa.Index("loans_owner_status_idx", "owner_id", "status", "created_at"),
)
