"""Relay and consumer guarantees against the real PostgreSQL and RabbitMQ.

The probe consumer (tests/integration/probe.py) records every event it
applies without a uniqueness constraint, so "exactly once" is checked by
counting rows per event id.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from kombu import Connection, Producer

from loansyncro.consumer import Follower
from loansyncro.devserver import NAMEKO_CONFIG, ROOT
from loansyncro.eventstore import Checkpoint, EventStore, NewEvent, RecordedEvent
from loansyncro.messaging import consumer_queue, declare_topology
from loansyncro.outbox import Relay
from tests.integration import probe
from tests.conftest import isolated_engines
from tests.integration.conftest import amount_noted

pytestmark = pytest.mark.xdist_group("broker")


# This module starts relays and consumer processes: give it a database and
# vhost of its own (see isolated_settings).
@pytest.fixture(scope="module")
def settings(isolated_settings):
    return isolated_settings


@pytest.fixture(scope="module")
def engines(isolated_settings):
    service, owner = isolated_engines(isolated_settings)
    yield service, owner
    service.dispose()
    owner.dispose()


@pytest.fixture(scope="module")
def engine(engines):
    return engines[0]


@pytest.fixture(scope="module")
def admin_engine(engines):
    return engines[1]


@pytest.fixture(scope="module")
def probe_ready(settings, admin_engine) -> None:
    probe.create_tables(admin_engine, settings.database_role)
    declare_topology(settings.amqp_uri, {probe.CONSUMER: probe.EVENT_TYPES})


@pytest.fixture
def clean_probe(settings, admin_engine, probe_ready) -> Iterator[None]:
    probe.reset(admin_engine)
    with Connection(settings.amqp_uri) as connection:
        consumer_queue(probe.CONSUMER, probe.EVENT_TYPES)(connection.default_channel).purge()
    # Start the relay after everything earlier tests appended.
    with admin_engine.begin() as conn:
        head = conn.execute(
            sa.text("SELECT max(transaction_id)::text::bigint, max(position) FROM eventstore.events")
        ).one()
    Relay(admin_engine, settings.amqp_uri).save_checkpoint(Checkpoint(head[0] or 0, head[1] or 0))
    yield


def append_events(engine: sa.Engine, streams: int, per_stream: int) -> list[RecordedEvent]:
    store = EventStore(engine)
    recorded: list[RecordedEvent] = []
    stream_ids = [f"probe-{uuid.uuid4()}" for _ in range(streams)]
    for version in range(per_stream):
        for stream_id in stream_ids:
            new = NewEvent("TestAmountNoted", amount_noted(sequence=version))
            recorded += store.append("probe", stream_id, version, [new])
    return recorded


def queued_messages(amqp_uri: str, recorded: list[RecordedEvent]) -> list[dict]:
    """Drain the probe queue and return the bodies of `recorded`'s streams in delivery order."""
    streams = {event.stream_id for event in recorded}
    bodies = []
    with Connection(amqp_uri) as connection:
        queue = consumer_queue(probe.CONSUMER, probe.EVENT_TYPES)(connection.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            body = message.decode()
            if body["stream_id"] in streams:
                bodies.append(body)
    return bodies


def wait_for(condition: Callable[[], bool], timeout: float, description: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {description}")


class RelayThread:
    def __init__(self, engine: sa.Engine, amqp_uri: str) -> None:
        self.relay = Relay(engine, amqp_uri, idle_seconds=0.02)
        self.thread = threading.Thread(target=self.relay.run, daemon=True)

    def __enter__(self) -> Relay:
        self.thread.start()
        return self.relay

    def __exit__(self, *_: object) -> None:
        self.relay.stop()
        self.thread.join(10)


class ProbeProcess:
    """The probe consumer service as a real `nameko run` process."""

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import os

        log = open(self.log_dir / "probe.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(NAMEKO_CONFIG), "tests.integration.probe_service"],
            cwd=ROOT,
            env={**os.environ, "SERVICE_NAME": "probe", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def probe_process(tmp_path) -> Iterator[Callable[..., ProbeProcess]]:
    started: list[ProbeProcess] = []

    def start(**env: str) -> ProbeProcess:
        process = ProbeProcess(tmp_path, env)
        process.start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def exactly_once(engine: sa.Engine, recorded: list[RecordedEvent]) -> Callable[[], bool]:
    expected_ids = {str(event.event_id) for event in recorded}

    def check() -> bool:
        counts = probe.applied_counts(engine)
        return all(counts.get(event_id) == 1 for event_id in expected_ids)

    return check


def assert_each_applied_once(engine: sa.Engine, recorded: list[RecordedEvent]) -> None:
    counts = probe.applied_counts(engine)
    duplicates = {e: c for e, c in counts.items() if c > 1}
    missing = [str(e.event_id) for e in recorded if str(e.event_id) not in counts]
    assert duplicates == {}, "an event was applied more than once"
    assert missing == [], "an event was never applied"


def test_relay_publishes_committed_events_in_store_order(settings, engine, clean_probe):
    recorded = append_events(engine, streams=5, per_stream=10)
    relay = Relay(engine, settings.amqp_uri)

    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        # A write transaction open anywhere on the server can hide new events
        # for a moment, so publish until the checkpoint passes the last one.
        wait_for(
            lambda: relay.relay_once(producer) >= 0 and relay.load_checkpoint() >= recorded[-1].checkpoint,
            30,
            "the relay to publish every event",
        )

    bodies = queued_messages(settings.amqp_uri, recorded)
    assert [b["event_id"] for b in bodies] == [str(e.event_id) for e in recorded]
    assert bodies[0]["data"]["amount"] == "10.00", "amounts travel as strings"
    assert relay.load_checkpoint() >= recorded[-1].checkpoint


class CrashingProducer:
    """Publishes `survive` messages, then fails as a relay dying between publish and checkpoint would."""

    def __init__(self, producer: Producer, survive: int) -> None:
        self.producer = producer
        self.remaining = survive

    def publish(self, *args: object, **kwargs: object) -> None:
        if self.remaining == 0:
            raise ConnectionError("relay crashed before saving its checkpoint")
        self.remaining -= 1
        self.producer.publish(*args, **kwargs)


def test_relay_crash_before_checkpoint_applies_once(settings, engine, clean_probe):
    recorded = append_events(engine, streams=3, per_stream=5)
    relay = Relay(engine, settings.amqp_uri)
    before = relay.load_checkpoint()
    # The crash must hit mid-batch: wait until all 15 events are visible to
    # followers (a write transaction elsewhere on the server can hide them).
    wait_for(
        lambda: len(relay.store.catch_up(before, limit=100)) >= len(recorded), 30, "the events to become visible"
    )

    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        with pytest.raises(ConnectionError):
            relay.relay_once(CrashingProducer(producer, survive=7))  # type: ignore[arg-type]
        assert relay.load_checkpoint() == before, "the checkpoint moves only after a whole batch is confirmed"
        again = Relay(engine, settings.amqp_uri)
        wait_for(
            lambda: again.relay_once(producer) >= 0 and again.load_checkpoint() >= recorded[-1].checkpoint,
            30,
            "the restarted relay to publish every event",
        )

    bodies = queued_messages(settings.amqp_uri, recorded)
    assert len(bodies) == len(recorded) + 7, "the unconfirmed part of the batch is published again"
    follower = probe.follower(engine)
    for body in bodies:
        follower.handle_message(body)
    assert_each_applied_once(engine, recorded)


def test_two_relays_never_publish_the_same_event_twice(settings, engine, clean_probe):
    with RelayThread(engine, settings.amqp_uri), RelayThread(engine, settings.amqp_uri):
        recorded = append_events(engine, streams=4, per_stream=25)
        relay = Relay(engine, settings.amqp_uri)
        wait_for(lambda: relay.load_checkpoint() >= recorded[-1].checkpoint, 30, "the relays to publish")

    bodies = queued_messages(settings.amqp_uri, recorded)
    ids = [b["event_id"] for b in bodies]
    assert sorted(ids) == sorted(str(e.event_id) for e in recorded)
    assert len(ids) == len(set(ids))


def test_redelivery_and_out_of_order_delivery_apply_once(engine, clean_probe):
    recorded = append_events(engine, streams=1, per_stream=3)
    follower = probe.follower(engine)
    first, second, third = (event.to_message() for event in recorded)

    assert follower.handle_message(third) == "applied", "a gap is filled from the store"
    assert follower.handle_message(first) == "duplicate"
    assert follower.handle_message(second) == "duplicate"
    assert follower.handle_message(third) == "duplicate"
    assert_each_applied_once(engine, recorded)
    with engine.connect() as conn:
        versions = conn.execute(sa.select(probe.applied.c.version).order_by(probe.applied.c.id)).scalars().all()
    assert versions == [1, 2, 3], "a stream's events are applied in version order"


def test_failing_handler_retries_with_backoff_then_parks(engine, clean_probe, monkeypatch):
    failing, healthy = append_events(engine, streams=2, per_stream=1)
    [after_failing] = EventStore(engine).append(
        "probe", failing.stream_id, 1, [NewEvent("TestAmountNoted", amount_noted(sequence=1))]
    )
    delays: list[float] = []
    follower = probe.follower(engine, attempts=4, base_delay=0.1, sleep=delays.append)
    monkeypatch.setenv("PROBE_FAIL_SEQUENCE", "0")

    # Both streams' first events carry sequence 0; only the failing stream's is delivered first.
    assert follower.handle_message(failing.to_message()) == "parked"
    assert len(delays) == 3, "three waits between four attempts"
    assert delays[0] < delays[1] < delays[2] or delays[2] <= 5.0, "waits grow (with jitter)"
    assert 0.05 <= delays[0] <= 0.1
    assert follower.handle_message(after_failing.to_message()) == "held"

    monkeypatch.delenv("PROBE_FAIL_SEQUENCE")
    assert follower.handle_message(healthy.to_message()) == "applied", "other streams are not blocked"
    [parked] = follower.parked()
    assert parked["event_id"] == failing.event_id
    assert "probe handler rejects sequence 0" in parked["reason"]

    assert follower.retry_parked(failing.event_id) == "applied"
    assert follower.parked() == []
    assert_each_applied_once(engine, [failing, after_failing, healthy])


def test_catch_up_applies_events_whose_messages_were_lost(engine, clean_probe):
    recorded = append_events(engine, streams=3, per_stream=4)
    follower = probe.follower(engine)

    # Small batches walk the checkpoint forward; a write transaction elsewhere
    # on the server can hide the newest events for a moment, so repeat.
    wait_for(lambda: follower.catch_up(limit=5) >= 0 and exactly_once(engine, recorded)(), 30, "catch-up")

    assert_each_applied_once(engine, recorded)


def test_catch_up_works_on_a_pool_of_one(settings, engine, clean_probe):
    recorded = append_events(engine, streams=2, per_stream=3)
    # A catch-up that needed a second connection while holding its lock's
    # connection would wait out the pool timeout here and then fail.
    single = sa.create_engine(settings.sqlalchemy_url, pool_size=1, max_overflow=0, pool_timeout=2)
    follower = probe.follower(single)
    try:
        wait_for(lambda: follower.catch_up(limit=4) >= 0 and exactly_once(engine, recorded)(), 30, "catch-up")
    finally:
        single.dispose()

    assert_each_applied_once(engine, recorded)


def test_queue_holds_events_published_before_consumer_starts(settings, engine, clean_probe, probe_process):
    with RelayThread(engine, settings.amqp_uri) as relay:
        recorded = append_events(engine, streams=2, per_stream=5)
        wait_for(lambda: relay.load_checkpoint() >= recorded[-1].checkpoint, 30, "the relay to publish")
        with Connection(settings.amqp_uri) as connection:
            declared = consumer_queue(probe.CONSUMER, probe.EVENT_TYPES)(connection.default_channel).queue_declare(
                passive=True
            )
        assert declared.message_count >= len(recorded), "messages wait in the queue declared at migration"

        probe_process()
        wait_for(exactly_once(engine, recorded), 60, "the probe service to apply every event")
    assert_each_applied_once(engine, recorded)


def test_broker_connections_lost_while_appending(settings, engine, clean_probe, probe_process):
    vhost = settings.amqp_uri.rsplit("/", 1)[-1]
    appended: list[RecordedEvent] = []

    def append_slowly() -> None:
        for _ in range(20):
            appended.extend(append_events(engine, streams=2, per_stream=2))
            time.sleep(0.05)

    with RelayThread(engine, settings.amqp_uri):
        probe_process()
        writer = threading.Thread(target=append_slowly)
        writer.start()
        for _ in range(3):
            time.sleep(0.4)
            subprocess.run(
                ["rabbitmqctl", "-q", "close_all_connections", "-p", vhost, "connection test"],
                check=True,
                capture_output=True,
                timeout=60,
            )
        writer.join()
        wait_for(exactly_once(engine, appended), 90, "every event to be applied after the broker came back")
    assert len(appended) == 80
    assert_each_applied_once(engine, appended)


def test_consumer_killed_mid_batch_applies_each_event_once(settings, engine, clean_probe, probe_process):
    with RelayThread(engine, settings.amqp_uri):
        consumer = probe_process(PROBE_DELAY="0.01")
        recorded = append_events(engine, streams=10, per_stream=20)
        wait_for(lambda: sum(probe.applied_counts(engine).values()) >= 20, 60, "the consumer to start applying")
        consumer.kill()
        assert sum(probe.applied_counts(engine).values()) < len(recorded), "killed in the middle of the batch"

        probe_process()
        wait_for(exactly_once(engine, recorded), 90, "the restarted consumer to apply the rest")
    assert_each_applied_once(engine, recorded)


def test_slow_queries_overlap_in_one_service_process(settings, probe_process):
    from nameko.standalone.rpc import ClusterRpcProxy

    probe_process()
    config = {"AMQP_URI": settings.amqp_uri, "rpc_exchange": "loansyncro-rpc", "serializer": "json"}
    with ClusterRpcProxy(config, timeout=30) as cluster:
        wait_for(lambda: _rpc_answers(cluster), 60, "the probe service to answer RPCs")

    durations: list[float] = []

    def call() -> None:
        with ClusterRpcProxy(config, timeout=30) as cluster:
            cluster.probe.slow_query(1.0)

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    durations.append(time.monotonic() - started)

    # Two one-second queries run one after the other would take two seconds or more.
    assert durations[0] < 1.8, f"two 1 s queries took {durations[0]:.2f} s: the database call blocked the event loop"


def _rpc_answers(cluster: object) -> bool:
    try:
        cluster.probe.slow_query(0)  # type: ignore[attr-defined]
        return True
    except Exception:
        return False


def test_operator_retry_of_parked_event(engine, clean_probe, monkeypatch):
    from loansyncro.deadletters import list_parked, request_retry

    [failing] = append_events(engine, streams=1, per_stream=1)
    follower = probe.follower(engine, attempts=2, base_delay=0.01, sleep=lambda _: None)
    monkeypatch.setenv("PROBE_FAIL_SEQUENCE", "0")
    assert follower.handle_message(failing.to_message()) == "parked"
    monkeypatch.delenv("PROBE_FAIL_SEQUENCE")

    listed = [row for row in list_parked(engine) if row["event_id"] == failing.event_id]
    assert [row["schema"] for row in listed] == ["probe"]
    assert request_retry(engine, failing.event_id) == 1

    follower.catch_up()

    assert follower.parked() == []
    assert_each_applied_once(engine, [failing])


def test_database_error_keeps_batch_for_next_catch_up(engine, clean_probe):
    recorded = append_events(engine, streams=2, per_stream=2)
    failing = {recorded[0].event_id}

    def flaky_record(conn: sa.Connection, event: RecordedEvent) -> None:
        if event.event_id in failing:
            failing.clear()
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection to server was lost"))
        probe.record(conn, event)

    follower = Follower(engine, probe.CONSUMER, probe.tables, {"TestAmountNoted": flaky_record})
    # The first pass defers one stream; the checkpoint must not move past it.
    wait_for(lambda: follower.catch_up() >= 0 and exactly_once(engine, recorded)(), 30, "catch-up after the error")

    assert_each_applied_once(engine, recorded)
