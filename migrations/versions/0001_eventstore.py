"""Create the append-only event store, the relay checkpoints and the service role.

Revision ID: 0001_eventstore
Revises:
"""

from alembic import op

from loansyncro.eventstore.schema import SCHEMA, metadata

revision = "0001_eventstore"
down_revision = None
branch_labels = None
depends_on = None


def upgrade(service_role: str = "loansyncro_service") -> None:
    # Roles are shared by every database of the cluster, so another database
    # (or a parallel test run) may have created it already.
    op.execute(
        f"""
        DO $$ BEGIN
            CREATE ROLE {service_role} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$;
        """
    )
    op.execute(f"GRANT {service_role} TO CURRENT_USER")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    metadata.create_all(op.get_bind())

    # Triggers refuse changes even to the table's owner; privileges refuse
    # them to the role the services run as. Statement-level triggers reject
    # a DELETE or UPDATE that matches no row as well.
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.reject_event_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'eventstore.events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'append a correcting event instead';
        END $$;
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER events_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON {SCHEMA}.events
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.reject_event_change()
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {service_role}")
    op.execute(f"GRANT SELECT, INSERT ON {SCHEMA}.events TO {service_role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON {SCHEMA}.relay_checkpoints TO {service_role}")


def downgrade(service_role: str = "loansyncro_service") -> None:
    raise RuntimeError("the event store is never dropped by a migration: drop the database instead")
