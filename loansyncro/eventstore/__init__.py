"""Append-only event store on PostgreSQL.

One table contains every event: a global position, a unique event id, the stream
and its version (unique per stream), the type, the schema version, JSON data
and metadata, and when it occurred and was recorded.
"""

from loansyncro.eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    StreamNotFound,
)
from loansyncro.eventstore.records import Checkpoint, NewEvent, RecordedEvent
from loansyncro.eventstore.store import ANY_VERSION, EventStore

__all__ = [
    "ANY_VERSION",
    "Checkpoint",
    "ConcurrencyError",
    "EventStore",
    "EventStoreError",
    "NewEvent",
    "RecordedEvent",
    "StreamNotFound",
]
