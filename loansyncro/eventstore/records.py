from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended. Data contains Python values, which the contract encodes."""

    event_type: str
    data: dict[str, Any]
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    metadata: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


@dataclass(frozen=True, order=True)
class Checkpoint:
    """Position up to which a follower of the whole log has read.

    Followers read in (transaction id, position) order, not position alone:
    positions are taken when a row is inserted but become visible at commit,
    so a lower position can appear after a higher one. See `EventStore.catch_up`.
    """

    transaction_id: int = 0
    position: int = 0


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    transaction_id: int
    event_id: uuid.UUID
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    # Version of the contract the stored data was written with.
    schema_version: int
    # The data as stored: JSON values, possibly an older contract version.
    raw_data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime

    @cached_property
    def data(self) -> dict[str, Any]:
        """The data upcast to the current contract and loaded into Decimals, dates and so on."""
        from loansyncro.events import decode

        return decode(self.event_type, self.schema_version, self.raw_data)

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.transaction_id, self.position)

    def to_message(self) -> dict[str, Any]:
        """Return the JSON body the relay publishes; the data stays in its stored form."""
        return {
            "position": self.position,
            "transaction_id": self.transaction_id,
            "event_id": str(self.event_id),
            "stream_type": self.stream_type,
            "stream_id": self.stream_id,
            "version": self.version,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "data": self.raw_data,
            "metadata": self.metadata,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
        }

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> RecordedEvent:
        return cls(
            position=int(body["position"]),
            transaction_id=int(body["transaction_id"]),
            event_id=uuid.UUID(body["event_id"]),
            stream_type=body["stream_type"],
            stream_id=body["stream_id"],
            version=int(body["version"]),
            event_type=body["event_type"],
            schema_version=int(body["schema_version"]),
            raw_data=dict(body["data"]),
            metadata=dict(body.get("metadata") or {}),
            occurred_at=datetime.fromisoformat(body["occurred_at"]),
            recorded_at=datetime.fromisoformat(body["recorded_at"]),
        )
