"""Rebuild the ledger's projections from the event store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from loansyncro.eventstore import Checkpoint
from loansyncro.eventstore.schema import events as event_table
from services.ledger import tables
from services.ledger.projection import CONSUMER, EVENT_TYPES, build_follower

log = logging.getLogger(__name__)


def reset_projections(engine: Engine) -> None:
    """Delete every projection row and the ledger's tracking rows, in one transaction.

    DELETE rather than TRUNCATE: the service role is granted DELETE on its own tables.
    Run it while the ledger service is stopped, or its follower may apply events in between.
    """
    tracking = tables.tracking
    with engine.begin() as conn:
        for table in tables.PROJECTION_TABLES:
            conn.execute(sa.delete(table))
        for table in (tracking.streams, tracking.checkpoints, tracking.dead_letters):
            conn.execute(sa.delete(table).where(table.c.consumer == CONSUMER))
    log.info("ledger projections reset")


# Maximum seconds replay waits for events hidden by other transactions.
HORIZON_WAIT_SECONDS: Final = 30.0

def replay(engine: Engine, progress: Callable[[int, int], None], batch_size: int = 500) -> int:
    """Reset the projections and follow the whole log from the start; return the events applied.

    `progress(done, total)` is called after every batch; `total` is counted before the replay starts.
    """
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.count()).select_from(event_table).where(event_table.c.event_type.in_(EVENT_TYPES))
        ).scalar_one()
    reset_projections(engine)
    follower = build_follower(engine)
    checkpoints = tables.tracking.checkpoints
    checkpoint = Checkpoint()
    done = 0
    progress(done, total)
    # The same steps as Follower.catch_up, one batch at a time so progress can be shown.
    # A write transaction open anywhere on the server hides newer events for a
    # while, so an empty batch before `total` means wait, not done.
    deadline = time.monotonic() + HORIZON_WAIT_SECONDS
    while True:
        batch = follower.store.catch_up(checkpoint, limit=batch_size, event_types=EVENT_TYPES)
        if not batch:
            if done >= total or time.monotonic() > deadline:
                break
            time.sleep(0.1)
            continue
        newest: dict[str, int] = {}
        for recorded in batch:
            newest[recorded.stream_id] = recorded.version
        for stream_id, version in newest.items():
            follower.apply_through(stream_id, version)
        checkpoint = batch[-1].checkpoint
        with engine.begin() as conn:
            statement = pg_insert(checkpoints).values(
                consumer=CONSUMER, transaction_id=checkpoint.transaction_id, position=checkpoint.position
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[checkpoints.c.consumer],
                    set_={"transaction_id": statement.excluded.transaction_id, "position": statement.excluded.position},
                )
            )
        done += len(batch)
        progress(done, total)
    parked = follower.parked()
    if parked:
        log.warning("events parked during replay", extra={"count": len(parked)})
    return done
