"""Create the notifier's tables and the ledger's reminder settings.

Revision ID: 0007_notifier
Revises: 0001_eventstore

The due-date scan runs in the ledger and keeps the users' reminder settings in
the ledger's schema, so this revision creates that table too. It also adds a
partial index of overdue loans to the ledger's loans table, which the scan
reads next to the next-due-date index; hence it runs after 0006_ledger.
"""

from alembic import op

from services.ledger import due_dates
from services.notifier.tables import SCHEMA, metadata

revision = "0007_notifier"
down_revision = "0001_eventstore"
branch_labels = None
depends_on = ("0006_ledger",)


def upgrade(service_role: str = "loansyncro_service") -> None:
    for schema, schema_metadata in ((SCHEMA, metadata), (due_dates.metadata.schema, due_dates.metadata)):
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        schema_metadata.create_all(op.get_bind())
        op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {service_role}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {service_role}")
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {due_dates.OVERDUE_INDEX} ON {due_dates.metadata.schema}.loans (loan_id) "
        "WHERE standing = 'overdue'"
    )


def downgrade(service_role: str = "loansyncro_service") -> None:
    op.execute(f"DROP INDEX IF EXISTS {due_dates.metadata.schema}.{due_dates.OVERDUE_INDEX}")
    op.execute(f"DROP TABLE IF EXISTS {due_dates.metadata.schema}.{due_dates.reminder_settings.name}")
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
