"""Settings read once from the environment into a validated, immutable object.

Nothing here connects anywhere: services call `load_settings()` when they
start, so importing a module never opens a connection or reads the clock.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL: Final = "postgresql://postgres:postgres@127.0.0.1:5432/loansyncro"
DEFAULT_AMQP_URI: Final = "amqp://guest:guest@127.0.0.1:5672/"
LOG_FORMATS: Final = ("json", "kv")
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable and the fix."""


def _url(environ: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = environ.get(name, default)
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(
            f"{name}={value!r} is invalid: expected a URL such as {default!r} "
            f"(scheme one of {', '.join(schemes)}, with a host)"
        )
    try:
        parts.port
    except ValueError as error:
        raise ConfigError(f"{name}={value!r} has an invalid port: {error}") from error
    return value


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a whole number") from error
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={raw!r} is out of range: expected {minimum} to {maximum}")
    return value


def _float(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a number of seconds") from error
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is out of range: expected at least {minimum}")
    return value


def _choice(environ: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = environ.get(name, default)
    normalised = value.upper() if choices == LOG_LEVELS else value.lower()
    if normalised not in choices:
        raise ConfigError(f"{name}={value!r} is invalid: expected one of {', '.join(choices)}")
    return normalised


@dataclass(frozen=True)
class Settings:
    """Process-wide settings. Every field has a localhost default except secrets."""

    database_url: str = DEFAULT_DATABASE_URL
    amqp_uri: str = DEFAULT_AMQP_URI
    # Role that services switch to after connecting: it may only SELECT and INSERT events.
    database_role: str = "loansyncro_service"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # Seconds the gateway waits for an RPC reply before answering 504.
    rpc_timeout: float = 10.0
    log_level: str = "INFO"
    log_format: str = "json"
    relay_batch_size: int = 500
    # Seconds between a consumer's catch-up scans of the event store.
    catch_up_interval: float = 5.0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg 3 driver that SQLAlchemy needs."""
        scheme, _, rest = self.database_url.partition("://")
        return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else self.database_url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigError naming the first bad variable."""
    env = os.environ if environ is None else environ
    return Settings(
        database_url=_url(env, "DATABASE_URL", DEFAULT_DATABASE_URL, ("postgresql", "postgres")),
        amqp_uri=_url(env, "AMQP_URI", DEFAULT_AMQP_URI, ("amqp", "pyamqp", "amqps")),
        database_role=env.get("DATABASE_ROLE", "loansyncro_service"),
        gateway_host=env.get("GATEWAY_HOST", "127.0.0.1"),
        gateway_port=_int(env, "GATEWAY_PORT", 8000, 1, 65535),
        rpc_timeout=_float(env, "RPC_TIMEOUT", 10.0, 0.1),
        log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
        log_format=_choice(env, "LOG_FORMAT", "json", LOG_FORMATS),
        relay_batch_size=_int(env, "RELAY_BATCH_SIZE", 500, 1, 100_000),
        catch_up_interval=_float(env, "CATCH_UP_INTERVAL", 5.0, 0.05),
        extra={key: value for key, value in env.items() if key.startswith("LOANSYNCRO_")},
    )
