"""Rebuild the ledger's projections from the event store."""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

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
    done = 0
    progress(done, total)
    while True:
        scanned = follower.catch_up(limit=batch_size)
        if scanned == 0:
            break
        done += scanned
        progress(done, total)
    parked = follower.parked()
    if parked:
        log.warning("events parked during replay", extra={"count": len(parked)})
    return done
