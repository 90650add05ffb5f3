"""SQLAlchemy engines on psycopg 3, safe to use under eventlet.

psycopg 3 waits for the server with its own C poll loop, which eventlet's
monkey patching cannot reach, so one slow query would stall every greenthread
of a nameko service. When eventlet has patched `select`, `use_green_waits`
switches psycopg to its pure-Python `select`-based waits and the green
selector, which yield to the eventlet hub instead.
"""

from __future__ import annotations

import logging
import sys

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from loansyncro.config import Settings

log = logging.getLogger(__name__)


def eventlet_is_active() -> bool:
    # A process that never imported eventlet cannot have been patched by it.
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return bool(patcher.is_monkey_patched("select"))


def use_green_waits() -> bool:
    """Make psycopg cooperate with eventlet when it is active; return whether it did."""
    if not eventlet_is_active():
        return False

    from eventlet.green import selectors as green_selectors
    from psycopg import waiting

    waiting.wait = waiting.wait_select
    waiting.DefaultSelector = green_selectors.DefaultSelector  # used by wait_conn
    return True


def make_engine(
    settings: Settings, *, role: str | None = "", pool_size: int | None = None, wait_timeout: float | None = None
) -> Engine:
    """Create an engine; each new connection switches to `role` (default: the service role).

    Pass role=None to keep the login role, as migrations and test fixtures do.
    The pool keeps up to `pool_size` connections (default DATABASE_POOL_SIZE)
    open and opens no more: under load a worker waits for a free connection.
    PostgreSQL allows 100 connections by default, shared by every process of
    a deployment.

    With `wait_timeout` (seconds), waiting for a pooled connection ends with
    sqlalchemy.exc.TimeoutError after that long (else after SQLAlchemy's
    default 30 s), and each statement and each lock wait is cancelled after
    that long by PostgreSQL's statement_timeout and lock_timeout.
    """
    if pool_size is None:
        pool_size = settings.database_pool_size
    green = use_green_waits()
    connect_args: dict[str, str] = {}
    if wait_timeout is not None:
        milliseconds = max(1, round(wait_timeout * 1000))
        # Set at connection start-up, so no statement runs before them.
        connect_args["options"] = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
    engine = sa.create_engine(
        settings.sqlalchemy_url,
        pool_size=pool_size,
        # No overflow: SQLAlchemy closes an overflow connection as soon as it is
        # returned, so a burst wider than the pool connected and disconnected
        # on nearly every query (a new server process each time). Queries are
        # short, so waiting for a pooled connection is far cheaper.
        max_overflow=0,
        pool_timeout=30.0 if wait_timeout is None else wait_timeout,
        connect_args=connect_args,
        # No ping per checkout: it costs a round trip on every transaction. A
        # connection that died with its server fails once, and SQLAlchemy then
        # discards the whole pool (optimistic disconnect handling).
        pool_pre_ping=False,
        future=True,
    )
    target_role = settings.database_role if role == "" else role
    if target_role:

        @event.listens_for(engine, "connect")
        def _set_role(dbapi_connection: psycopg.Connection, _record: object) -> None:
            # Privileges, not just triggers, keep the event log append-only:
            # the service role may only SELECT and INSERT events.
            with dbapi_connection.cursor() as cursor:
                cursor.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(target_role)))
            dbapi_connection.commit()

    log.debug("engine created", extra={"green": green, "role": target_role})
    return engine
