"""One logging configuration for every process: JSON lines or key=value.

Callers log with module loggers and put ids in `extra`, for example
``log.info("relay published", extra={"position": 42, "event_id": "..."})``.
The formatter adds the service name and the correlation id of the request or
event being handled. Never pass secrets, emails or phone numbers in `extra`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any, Final

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD_ATTRIBUTES: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)


class _ServiceFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if not hasattr(record, "correlation_id"):
            record.correlation_id = correlation_id.get()
        if record.name == "nameko.containers" and str(record.msg).startswith("(expected)"):
            # nameko attaches the traceback even to a domain rejection, such as a
            # wrong password or an unknown loan, and the message already names the error.
            record.exc_info = None
            record.exc_text = None
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "service": getattr(record, "service", None),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _STANDARD_ATTRIBUTES and key not in fields and value is not None:
            fields[key] = value
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = []
        for key, value in _fields(record).items():
            text = str(value)
            if " " in text or "=" in text or '"' in text or not text:
                text = json.dumps(text, ensure_ascii=False)
            parts.append(f"{key}={text}")
        return " ".join(parts)


def logging_config(service: str, level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """Return a dictConfig for `service`; nameko's LOGGING setting takes the same dict."""
    formatter = "loansyncro.logs.JsonFormatter" if fmt == "json" else "loansyncro.logs.KeyValueFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"service": {"()": "loansyncro.logs._ServiceFilter", "service": service}},
        "formatters": {"structured": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "filters": ["service"],
            }
        },
        # Library chatter (kombu reconnects, werkzeug access lines) stays at WARNING.
        "loggers": {
            "kombu": {"level": "WARNING"},
            "amqp": {"level": "WARNING"},
            "nameko": {"level": "WARNING"},
            "alembic": {"level": "WARNING"},
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    logging.config.dictConfig(logging_config(service, level, fmt))


class StructuredFormatter(logging.Formatter):
    """JSON lines, or key=value when LOG_FORMAT=kv; for configurations written as files."""

    def __init__(self) -> None:
        super().__init__()
        import os

        chosen = os.environ.get("LOG_FORMAT", "json").lower()
        self._delegate: logging.Formatter = KeyValueFormatter() if chosen == "kv" else JsonFormatter()

    def format(self, record: logging.LogRecord) -> str:
        return self._delegate.format(record)
