"""The event store's guarantees, each checked against the real PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa

from loansyncro.config import load_settings
from loansyncro.db import make_engine
from loansyncro.events import ContractError
from loansyncro.eventstore import Checkpoint, ConcurrencyError, EventStore, NewEvent
from loansyncro.infra import admin_url, database_name
from loansyncro.migrate import migrate
from tests.integration.conftest import amount_noted


def new_stream() -> str:
    return f"test-{uuid.uuid4()}"


def noted(amount: str = "10.00", sequence: int = 0, event_id: uuid.UUID | None = None) -> NewEvent:
    if event_id is None:
        return NewEvent("TestAmountNoted", amount_noted(amount, sequence))
    return NewEvent("TestAmountNoted", amount_noted(amount, sequence), event_id=event_id)


def count_events(engine: sa.Engine, stream_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT count(*) FROM eventstore.events WHERE stream_id = :s"), {"s": stream_id}
        ).scalar_one()


def test_append_then_read_stream_round_trips_values(engine):
    store = EventStore(engine)
    stream = new_stream()

    recorded = store.append("test", stream, 0, [noted("12.30"), noted("0.05", 1)])
    events = store.read_stream(stream)

    assert [e.version for e in recorded] == [1, 2]
    assert [e.version for e in events] == [1, 2]
    assert events[0].data["amount"] == Decimal("12.30")
    assert events[0].raw_data["amount"] == "12.30", "amounts are stored as strings"
    assert events[0].raw_data["noted_on"] == "2025-01-31", "dates are stored as ISO 8601"
    assert events[1].position > events[0].position


def test_append_with_stale_version_raises_conflict(engine):
    store = EventStore(engine)
    stream = new_stream()
    store.append("test", stream, 0, [noted()])

    with pytest.raises(ConcurrencyError, match="at version 1, not the expected 0"):
        store.append("test", stream, 0, [noted()])
    with pytest.raises(ConcurrencyError, match="at version 1, not the expected 3"):
        store.append("test", stream, 3, [noted()])
    assert count_events(engine, stream) == 1


def test_concurrent_appenders_exactly_one_wins(engine):
    store = EventStore(engine)
    stream = new_stream()
    writers = 8
    barrier = threading.Barrier(writers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def append(index: int) -> None:
        barrier.wait()
        try:
            store.append("test", stream, 0, [noted(sequence=index)])
            outcome = "won"
        except ConcurrencyError:
            outcome = "conflict"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("won") == 1
    assert outcomes.count("conflict") == writers - 1
    assert count_events(engine, stream) == 1


def test_reappending_stored_event_returns_it(engine):
    store = EventStore(engine)
    stream = new_stream()
    event_id = uuid.uuid4()

    first = store.append("test", stream, 0, [noted("5.00", event_id=event_id)])
    again = store.append("test", stream, 0, [noted("5.00", event_id=event_id)])

    assert again[0].event_id == first[0].event_id
    assert again[0].position == first[0].position
    assert count_events(engine, stream) == 1


def test_concurrent_identical_appends_store_once(engine):
    store = EventStore(engine)
    stream = new_stream()
    event_id = uuid.uuid4()
    barrier = threading.Barrier(4)
    positions: list[int] = []

    def append() -> None:
        barrier.wait()
        positions.append(store.append("test", stream, 0, [noted(event_id=event_id)])[0].position)

    threads = [threading.Thread(target=append) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(positions)) == 1
    assert count_events(engine, stream) == 1


def test_invalid_event_data_writes_nothing(engine):
    store = EventStore(engine)
    stream = new_stream()

    with pytest.raises(ContractError, match="TestAmountNoted data is invalid"):
        store.append("test", stream, 0, [NewEvent("TestAmountNoted", {"amount": "x", "currency": "EUR"})])
    with pytest.raises(ContractError, match="unknown event type 'NoSuchEvent'"):
        store.append("test", stream, 0, [NewEvent("NoSuchEvent", {})])
    assert count_events(engine, stream) == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE eventstore.events SET event_type = 'Changed'",
        "DELETE FROM eventstore.events",
        "TRUNCATE eventstore.events",
    ],
)
def test_service_role_cannot_change_events(engine, statement):
    EventStore(engine).append("test", new_stream(), 0, [noted()])
    with engine.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(statement))


@pytest.fixture(scope="module")
def private_admin_engine(settings) -> Iterator[sa.Engine]:
    """Owner's engine on a database of its own.

    TRUNCATE waits for an exclusive lock before the trigger can reject it, and
    on the shared test database that wait would queue every reader behind it.
    """
    name = f"{database_name(settings.database_url)}_private"
    url = settings.database_url.rsplit("/", 1)[0] + f"/{name}"
    previous = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = url
    try:
        private = load_settings()
        migrate(private, topology=False)
        engine = make_engine(private, role=None, pool_size=1)
        yield engine
        engine.dispose()
    finally:
        os.environ["DATABASE_URL"] = previous
        with psycopg.connect(admin_url(url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE eventstore.events SET event_type = 'Changed'", "UPDATE"),
        ("DELETE FROM eventstore.events WHERE false", "DELETE"),
        ("TRUNCATE eventstore.events", "TRUNCATE"),
    ],
)
def test_table_owner_cannot_change_events(private_admin_engine, statement, operation):
    EventStore(private_admin_engine).append("test", new_stream(), 0, [noted()])
    with private_admin_engine.connect() as conn:
        conn.execute(sa.text("SET lock_timeout = '10s'"))
        with pytest.raises(sa.exc.ProgrammingError, match=f"append-only: {operation} is not allowed"):
            conn.execute(sa.text(statement))


def test_read_stream_up_to_version_and_time(engine):
    store = EventStore(engine)
    stream = new_stream()
    store.append("test", stream, 0, [noted(sequence=1), noted(sequence=2)])
    between = datetime.now(UTC)
    store.append("test", stream, 2, [noted(sequence=3)])

    assert [e.version for e in store.read_stream(stream, to_version=2)] == [1, 2]
    assert [e.version for e in store.read_stream(stream, from_version=2)] == [2, 3]
    assert [e.version for e in store.read_stream(stream, until=between)] == [1, 2]
    assert store.stream_version(stream) == 3


def test_old_schema_version_is_upcast_on_read(admin_engine, engine):
    stream = new_stream()
    with admin_engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                INSERT INTO eventstore.events
                    (event_id, stream_type, stream_id, version, event_type, schema_version, data, occurred_at)
                VALUES (:id, 'test', :stream, 1, 'TestAmountNoted', 1,
                        '{"amount": "7.50", "noted_on": "2024-02-29"}', now())
                """
            ),
            {"id": uuid.uuid4(), "stream": stream},
        )

    [event] = EventStore(engine).read_stream(stream)

    assert event.schema_version == 1
    assert event.raw_data == {"amount": "7.50", "noted_on": "2024-02-29"}, "stored data is never rewritten"
    assert event.data["currency"] == "EUR"
    assert event.data["amount"] == Decimal("7.50")


def follow(store: EventStore, checkpoint: Checkpoint, stream: str) -> tuple[Checkpoint, list[int]]:
    """Read everything available after `checkpoint`; return the new checkpoint and this stream's positions."""
    seen = []
    while batch := store.catch_up(checkpoint, limit=100):
        checkpoint = batch[-1].checkpoint
        seen.extend(e.position for e in batch if e.stream_id.startswith(stream))
    return checkpoint, seen


def test_catch_up_never_skips_a_late_commit(engine):
    store = EventStore(engine)
    stream = new_stream()
    checkpoint, _ = follow(store, Checkpoint(), stream)

    # The first transaction takes the lower position but commits last.
    slow = engine.connect()
    slow_tx = slow.begin()
    [early] = store.append("test", f"{stream}-slow", 0, [noted(sequence=1)], conn=slow)
    [late] = store.append("test", f"{stream}-fast", 0, [noted(sequence=2)])
    assert early.position < late.position

    # A reader by position alone would now see the higher position and move past the lower one.
    visible = store.read_all(after_position=early.position - 1)
    assert [e.position for e in visible if e.stream_id.startswith(stream)] == [late.position]

    checkpoint, seen_while_open = follow(store, checkpoint, stream)
    slow_tx.commit()
    slow.close()
    # Write transactions of other tests on the same server can hold the
    # horizon back for a moment, so follow until both events arrive.
    seen_after_commit: list[int] = []
    deadline = time.monotonic() + 30
    while len(seen_after_commit) < 2 and time.monotonic() < deadline:
        checkpoint, seen = follow(store, checkpoint, stream)
        seen_after_commit += seen
        time.sleep(0.05)

    assert seen_while_open == [], "nothing past the open transaction is handed out"
    assert seen_after_commit == [early.position, late.position]
