"""Loading loans from the event store and appending their events with the read model in one transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from loansyncro.errors import Conflict
from loansyncro.eventstore import ConcurrencyError, EventStore, NewEvent
from loansyncro.loan_stream import LoanRecord, fold_loan, stream_id_of
from services.loans import tables
from services.loans.domain import LoanFilter

log = logging.getLogger(__name__)

STREAM_TYPE = "loan"
# A lost race re-reads the loan and decides again; more losses than this mean heavy contention.
MAX_ATTEMPTS = 5


class LoanRepository:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def load(self, loan_id: uuid.UUID, conn: Connection | None = None) -> LoanRecord | None:
        return fold_loan(self.store.read_stream(stream_id_of(loan_id), conn=conn))

    def create(self, loan_id: uuid.UUID, data: dict[str, Any], event_id: uuid.UUID, metadata: dict[str, Any]) -> LoanRecord:
        """Append LoanCreated (a retry with the same event id returns the stored loan)."""
        stream_id = stream_id_of(loan_id)
        with self.store.engine.begin() as conn:
            self.store.append(
                STREAM_TYPE, stream_id, 0, [NewEvent("LoanCreated", data, event_id=event_id, metadata=metadata)], conn=conn
            )
            record = self.load(loan_id, conn)
            assert record is not None
            _save(conn, record)
        return record

    def change(
        self,
        loan_id: uuid.UUID,
        decide: Callable[[LoanRecord | None], list[NewEvent]],
    ) -> LoanRecord | None:
        """Load the loan, let `decide` return new events, append them at the loaded version.

        `decide` raises for a rejected command; on a lost race the loan is reloaded and decided again.
        """
        stream_id = stream_id_of(loan_id)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.store.engine.begin() as conn:
                    record = self.load(loan_id, conn)
                    new_events = decide(record)
                    if not new_events:
                        return record
                    version = record.version if record else 0
                    self.store.append(STREAM_TYPE, stream_id, version, new_events, conn=conn)
                    record = self.load(loan_id, conn)
                    assert record is not None
                    _save(conn, record)
                    return record
            except ConcurrencyError:
                log.info("loan changed concurrently; deciding again", extra={"loan_id": str(loan_id), "attempt": attempt})
        raise Conflict(f"loan {loan_id} is changing too often to apply this change; try again")

    def list(self, owner_id: uuid.UUID, options: LoanFilter) -> tuple[list[dict[str, Any]], int]:
        """Return one page of the owner's loans and the total number matching the filter."""
        table = tables.loans
        query = sa.select(table.c.document).where(table.c.owner_id == owner_id)
        if options.status == "all":
            query = query.where(table.c.status != "deleted")
        else:
            query = query.where(table.c.status == options.status)
        if options.loan_type:
            query = query.where(table.c.loan_type == options.loan_type)
        if options.lender:
            query = query.where(sa.func.lower(table.c.lender) == options.lender.lower())
        total_query = sa.select(sa.func.count()).select_from(query.subquery())
        column = table.c[options.sort]
        order = column.desc() if options.descending else column.asc()
        query = query.order_by(order, table.c.loan_id).limit(options.limit).offset(options.offset)
        with self.store.engine.connect() as conn:
            total = conn.execute(total_query).scalar_one()
            documents = [row.document for row in conn.execute(query)]
        return documents, int(total)


def _save(conn: Connection, record: LoanRecord) -> None:
    values = {
        "loan_id": record.loan_id,
        "owner_id": record.owner_id,
        "name": record.details["name"],
        "loan_type": record.details["loan_type"],
        "lender": record.details.get("lender"),
        "currency": record.currency,
        "principal": record.created["principal"],
        "start_date": record.start_date,
        "status": record.status,
        "version": record.version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "document": record.to_json(),
    }
    statement = pg_insert(tables.loans).values(**values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[tables.loans.c.loan_id],
            set_={key: statement.excluded[key] for key in values if key != "loan_id"},
        )
    )
