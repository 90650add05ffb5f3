"""Event store throughput against plain PostgreSQL doing the same row work.

Appends go through `EventStore.append` (contract check, idempotency lookup,
expected-version check, insert). They are compared with a plain INSERT of the
same rows into a table with no constraint beyond its primary key. Catch-up
reads go through `EventStore.catch_up` (commit-safe order) and are compared
with a plain SELECT of the same rows by position. Both sides run in the same process and database, one after
the other, so the ratio is what matters, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

import loansyncro.events  # noqa: F401  (registers the contracts)
from bench.common import markdown_table, throwaway_environment
from loansyncro.db import make_engine
from loansyncro.eventstore import Checkpoint, EventStore, NewEvent

PLAIN_TABLE = """
CREATE TABLE IF NOT EXISTS public.bench_plain_events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL, stream_type text NOT NULL, stream_id text NOT NULL,
    version integer NOT NULL, event_type text NOT NULL, schema_version integer NOT NULL,
    data jsonb NOT NULL, metadata jsonb NOT NULL, occurred_at timestamptz NOT NULL
)
"""


def repayment_data(loan_id: uuid.UUID, owner_id: uuid.UUID, number: int) -> dict:
    return {
        "repayment_id": uuid.uuid4(),
        "loan_id": loan_id,
        "owner_id": owner_id,
        "amount": Decimal("1854.02"),
        "currency": "EUR",
        "paid_on": date(2025, 1, 1),
        "method": "bank_transfer",
        "reference": f"bench {number}",
    }


def run_writers(writers: int, per_writer: int, write: Callable[[int, int], None]) -> float:
    """Run `writers` threads each calling write(writer, i) `per_writer` times; return events/s."""
    barrier = threading.Barrier(writers + 1)

    def work(writer: int) -> None:
        barrier.wait()
        for i in range(per_writer):
            write(writer, i)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return writers * per_writer / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.eventstore", description=__doc__)
    parser.add_argument("--events", type=int, default=2000, help="events appended per scenario (default 2000)")
    parser.add_argument("--read-events", type=int, default=20000, help="events read back (default 20000)")
    args = parser.parse_args(argv)

    with throwaway_environment() as settings:
        engine = make_engine(settings, pool_size=10)
        admin = make_engine(settings, role=None, pool_size=10)
        store = EventStore(engine)
        with admin.begin() as conn:
            conn.execute(sa.text(PLAIN_TABLE))
            conn.execute(sa.text(f"GRANT SELECT, INSERT ON public.bench_plain_events TO {settings.database_role}"))
        owner = uuid.uuid4()
        rows: list[list[str]] = []

        for writers in (1, 8):
            per_writer = args.events // writers
            streams = [f"repayments-{uuid.uuid4()}" for _ in range(writers)]
            loans = [uuid.uuid4() for _ in range(writers)]

            def append(writer: int, i: int) -> None:
                store.append(
                    "repayments", streams[writer], i, [NewEvent("RepaymentLogged", repayment_data(loans[writer], owner, i))]
                )

            plain_streams = [f"plain-{uuid.uuid4()}" for _ in range(writers)]

            def insert(writer: int, i: int) -> None:
                data = loansyncro.events.encode("RepaymentLogged", repayment_data(loans[writer], owner, i))[1]
                with engine.begin() as conn:
                    conn.execute(
                        sa.text(
                            "INSERT INTO public.bench_plain_events (event_id, stream_type, stream_id, version,"
                            " event_type, schema_version, data, metadata, occurred_at) VALUES (:id, 'repayments',"
                            " :stream, :version, 'RepaymentLogged', 1, CAST(:data AS jsonb), '{}', :at)"
                        ),
                        {
                            "id": uuid.uuid4(),
                            "stream": plain_streams[writer],
                            "version": i + 1,
                            "data": json.dumps(data),
                            "at": datetime.now(UTC),
                        },
                    )

            plain_rate = run_writers(writers, per_writer, insert)
            store_rate = run_writers(writers, per_writer, append)
            rows.append(
                [
                    f"append, {writers} writer{'s' if writers > 1 else ''}",
                    f"{store_rate:,.0f} events/s",
                    f"{plain_rate:,.0f} rows/s",
                    f"{store_rate / plain_rate:.0%}",
                ]
            )

        # Reads: fill to --read-events, then follow the whole log both ways.
        with engine.connect() as conn:
            present = conn.execute(sa.text("SELECT count(*) FROM eventstore.events")).scalar_one()
        batch_stream = f"repayments-{uuid.uuid4()}"
        loan = uuid.uuid4()
        version = 0
        while present < args.read_events:
            chunk = [NewEvent("RepaymentLogged", repayment_data(loan, owner, version + k)) for k in range(500)]
            store.append("repayments", batch_stream, version, chunk)
            version += len(chunk)
            present += len(chunk)

        started = time.perf_counter()
        checkpoint, read = Checkpoint(), 0
        while batch := store.catch_up(checkpoint, limit=1000):
            checkpoint = batch[-1].checkpoint
            read += len(batch)
        store_read_rate = read / (time.perf_counter() - started)

        started = time.perf_counter()
        plain_read, last = 0, 0
        with engine.connect() as conn:
            while True:
                batch_rows = conn.execute(
                    sa.text("SELECT * FROM eventstore.events WHERE position > :p ORDER BY position LIMIT 1000"),
                    {"p": last},
                ).all()
                if not batch_rows:
                    break
                last = batch_rows[-1].position
                plain_read += len(batch_rows)
        plain_read_rate = plain_read / (time.perf_counter() - started)
        rows.append(
            [
                f"catch-up read of {read:,} events",
                f"{store_read_rate:,.0f} events/s",
                f"{plain_read_rate:,.0f} rows/s",
                f"{store_read_rate / plain_read_rate:.0%}",
            ]
        )
        engine.dispose()
        admin.dispose()

    table = markdown_table(["scenario", "event store", "plain PostgreSQL", "ratio (target >= 50 %)"], rows)
    print(table)
    return table


if __name__ == "__main__":
    main()
