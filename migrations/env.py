"""Alembic environment: migrate the database named by DATABASE_URL as its login role."""

from alembic import context

from loansyncro.config import load_settings
from loansyncro.db import make_engine

settings = load_settings()
engine = make_engine(settings, role=None, pool_size=1)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        version_table_schema="public",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations(service_role=settings.database_role)
engine.dispose()
