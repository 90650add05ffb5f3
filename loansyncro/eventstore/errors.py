class EventStoreError(Exception):
    """Base class of event store failures."""


class ConcurrencyError(EventStoreError):
    """Another writer appended to the stream after the caller read it."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual_version}, not the expected {expected_version}: "
            "reload the stream and decide again"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class StreamNotFound(EventStoreError):
    def __init__(self, stream_id: str) -> None:
        super().__init__(f"stream {stream_id} has no events")
        self.stream_id = stream_id
