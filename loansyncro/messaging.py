"""RabbitMQ topology: one topic exchange of events, one durable queue per consumer.

The relay publishes every committed event to `loansyncro.events` with the
event type as routing key. Each consumer owns one queue bound to the types it
handles. `declare_topology` creates all of them at migration time, so an event
published before a consumer first starts still waits in its queue.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from kombu import Connection, Exchange, Queue, binding

log = logging.getLogger(__name__)

EVENTS_EXCHANGE: Final = Exchange("loansyncro.events", type="topic", durable=True)

# Consumer name -> event types it applies. Every consumer is listed here, not
# in its service, so that migrations declare each queue before any publisher runs.
SUBSCRIPTIONS: Final[dict[str, tuple[str, ...]]] = {
    # Balances, schedules and dashboards of services/ledger.
    "ledger": (
        "LoanCreated",
        "LoanDetailsChanged",
        "LoanTermsChanged",
        "LoanClosed",
        "LoanDeleted",
        "RepaymentLogged",
        "RepaymentReversed",
    ),
    # Reminders and overdue alerts of services/notifier.
    "notifier": ("InstallmentDueSoon", "InstallmentOverdue"),
}


def consumer_queue(consumer: str, event_types: tuple[str, ...]) -> Queue:
    return Queue(
        f"loansyncro.{consumer}",
        exchange=EVENTS_EXCHANGE,
        bindings=[binding(EVENTS_EXCHANGE, routing_key=event_type) for event_type in event_types],
        durable=True,
        auto_delete=False,
    )


def declare_topology(amqp_uri: str, subscriptions: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    """Declare the exchange, every consumer queue and its bindings; return the queue names."""
    subscriptions = SUBSCRIPTIONS if subscriptions is None else subscriptions
    names = []
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.default_channel
        EVENTS_EXCHANGE(channel).declare()
        for consumer, event_types in sorted(subscriptions.items()):
            queue = consumer_queue(consumer, event_types)(channel)
            queue.declare()
            names.append(queue.name)
    log.info("topology declared", extra={"queues": names})
    return names
