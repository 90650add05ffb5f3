"""Loading a loan with its repayments and appending repayment events under optimistic concurrency."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from loansyncro.errors import Conflict
from loansyncro.eventstore import ConcurrencyError, EventStore, NewEvent, RecordedEvent
from loansyncro.loan_stream import LoanRecord, fold_loan
from loansyncro.loan_stream import stream_id_of as loan_stream_id
from loansyncro.repayment_stream import RepaymentLog, fold_repayments, repayment_json, stream_id_of
from services.repayments import tables

log = logging.getLogger(__name__)

STREAM_TYPE = "repayments"
# Each lost race means another payment on the same loan committed first; the
# next attempt decides on the new balance. Ten losses in a row is contention
# well beyond one person's clients.
MAX_ATTEMPTS = 10

Decide = Callable[[LoanRecord | None, RepaymentLog], list[NewEvent]]


class RepaymentRepository:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def load(self, loan_id: uuid.UUID, conn: Connection | None = None) -> tuple[LoanRecord | None, RepaymentLog]:
        """Read the loan's stream and its repayments stream (the event store is shared; no other service's tables)."""
        streams = self.store.read_streams([loan_stream_id(loan_id), stream_id_of(loan_id)], conn=conn)
        return fold_loan(streams[loan_stream_id(loan_id)]), fold_repayments(streams[stream_id_of(loan_id)])

    def stored_event(self, event_id: uuid.UUID) -> RecordedEvent | None:
        return self.store.get_event(event_id)

    def change(self, loan_id: uuid.UUID, decide: Decide) -> list[RecordedEvent]:
        """Decide on the current state and append at the loaded version; on a lost race decide again."""
        stream_id = stream_id_of(loan_id)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.store.engine.begin() as conn:
                    loan, repayments = self.load(loan_id, conn)
                    new_events = decide(loan, repayments)
                    recorded = self.store.append(STREAM_TYPE, stream_id, repayments.version, new_events, conn=conn)
                    for event in recorded:
                        _project(conn, event)
                    return recorded
            except ConcurrencyError:
                log.info(
                    "repayments changed concurrently; deciding again",
                    extra={"loan_id": str(loan_id), "attempt": attempt},
                )
        raise Conflict(f"loan {loan_id} received too many simultaneous repayments; try again")

    def list(self, loan_id: uuid.UUID, limit: int, offset: int, include_reversed: bool) -> tuple[list[dict[str, Any]], int]:
        table = tables.repayments
        query = sa.select(table).where(table.c.loan_id == loan_id)
        if not include_reversed:
            query = query.where(table.c.reversed.is_(False))
        total_query = sa.select(sa.func.count()).select_from(query.subquery())
        query = query.order_by(table.c.paid_on.desc(), table.c.logged_at.desc()).limit(limit).offset(offset)
        with self.store.engine.connect() as conn:
            total = conn.execute(total_query).scalar_one()
            rows = conn.execute(query).mappings().all()
        items = [repayment_json(row, row["logged_at"], row["reversed"], row["reversal_reason"]) for row in rows]
        return items, int(total)


def _project(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    table = tables.repayments
    if event.event_type == "RepaymentLogged":
        conn.execute(
            pg_insert(table)
            .values(
                repayment_id=data["repayment_id"],
                loan_id=data["loan_id"],
                owner_id=data["owner_id"],
                amount=data["amount"],
                currency=data["currency"],
                paid_on=data["paid_on"],
                method=data["method"],
                reference=data.get("reference"),
                note=data.get("note"),
                extra_mode=data["extra_mode"],
                logged_at=event.recorded_at,
            )
            .on_conflict_do_nothing()
        )
    elif event.event_type == "RepaymentReversed":
        conn.execute(
            sa.update(table)
            .where(table.c.repayment_id == data["repayment_id"])
            .values(reversed=True, reversal_reason=data.get("reason"))
        )
