"""Create the accounts schema: user data keys, email lookup, sessions, sign-in counters.

Revision ID: 0002_accounts
Revises: 0001_eventstore
"""

from alembic import op

from services.accounts.tables import SCHEMA, metadata

revision = "0002_accounts"
down_revision = "0001_eventstore"
branch_labels = None
depends_on = None


def upgrade(service_role: str = "loansyncro_service") -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    metadata.create_all(op.get_bind())
    op.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {service_role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {service_role}")


def downgrade(service_role: str = "loansyncro_service") -> None:
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
