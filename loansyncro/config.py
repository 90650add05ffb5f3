"""Settings read once from the environment into a validated, immutable object.

Nothing here connects anywhere: services call `load_settings()` when they
start, so importing a module never opens a connection or reads the clock.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL: Final = "postgresql://postgres:postgres@127.0.0.1:5432/loansyncro"
DEFAULT_AMQP_URI: Final = "amqp://guest:guest@127.0.0.1:5672/"
LOG_FORMATS: Final = ("json", "kv")
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
SMTP_SECURITY_MODES: Final = ("starttls", "tls", "none")
# Development keys are generated here when missing; the folder is git-ignored.
DEFAULT_KEY_DIR: Final = str(Path(__file__).resolve().parent.parent / "var" / "keys")
# OWASP's minimum argon2id parameters: 19 MiB of memory and 2 iterations.
MIN_ARGON2_MEMORY_KIB: Final = 19 * 1024
MIN_ARGON2_TIME_COST: Final = 2


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


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is invalid: expected true or false")


def _origins(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = environ.get(name, "")
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ConfigError(
                f"{name} contains {origin!r}, which is not an origin: "
                "expected a comma-separated list such as 'https://app.example.com,http://127.0.0.1:5173'"
            )
    return origins


def _files(environ: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = environ.get(name)
    if raw is None:
        return default
    files = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not files:
        raise ConfigError(f"{name}={raw!r} is invalid: expected one or more comma-separated file paths")
    return files


@dataclass(frozen=True)
class Settings:
    """Process-wide settings. Every field has a localhost default except secrets."""

    database_url: str = DEFAULT_DATABASE_URL
    amqp_uri: str = DEFAULT_AMQP_URI
    # Role that services switch to after connecting: it may only SELECT and INSERT events.
    database_role: str = "loansyncro_service"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # Seconds the gateway waits for an RPC reply before it returns 504.
    rpc_timeout: float = 10.0
    log_level: str = "INFO"
    log_format: str = "json"
    relay_batch_size: int = 500
    # Connections each service process keeps open; up to twice as many under load.
    database_pool_size: int = 4
    # Seconds between a consumer's catch-up scans of the event store.
    catch_up_interval: float = 5.0
    # Gateway: origins allowed to call the API from a browser (none by default).
    cors_allowed_origins: tuple[str, ...] = ()
    # Largest request body the gateway reads; larger ones get 413.
    max_body_bytes: int = 64 * 1024
    # Seconds an authenticated gateway trusts a checked session before asking accounts again.
    session_check_cache_seconds: float = 5.0
    # Accounts: key files. The private signing key is read by accounts only.
    key_dir: str = DEFAULT_KEY_DIR
    access_token_private_key_file: str = str(Path(DEFAULT_KEY_DIR) / "access-token-ed25519.pem")
    # Every public key the gateway accepts, so a new key can be added before accounts signs with it.
    access_token_public_key_files: tuple[str, ...] = (str(Path(DEFAULT_KEY_DIR) / "access-token-ed25519.pub.pem"),)
    email_lookup_key_file: str = str(Path(DEFAULT_KEY_DIR) / "email-lookup.key")
    data_key_wrapping_key_file: str = str(Path(DEFAULT_KEY_DIR) / "data-key-wrapping.key")
    # Create missing key files at start (development and tests); production mounts them and sets false.
    generate_missing_keys: bool = True
    access_token_ttl_seconds: int = 600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    argon2_memory_kib: int = MIN_ARGON2_MEMORY_KIB
    argon2_time_cost: int = MIN_ARGON2_TIME_COST
    argon2_parallelism: int = 1
    sign_in_window_seconds: int = 900
    sign_in_max_failures_per_account: int = 10
    sign_in_max_failures_per_address: int = 100
    # Notifier: SMTP for email. No SMTP_HOST means email reminders are written to the log (console channel).
    smtp_host: str | None = None
    smtp_port: int = 587
    # "starttls" upgrades a plain connection, "tls" connects with TLS (usually port 465), "none" sends in clear.
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "LoanSyncro <reminders@localhost>"
    smtp_timeout_seconds: float = 10.0
    # Notifier: Twilio for SMS. Without an account SID, SMS reminders are written to the log.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    # Base URL of the Twilio REST API; tests point it at a local fake.
    twilio_base_url: str = "https://api.twilio.com"
    # SMS sends per local day: per recipient and for the whole system, counting every attempt.
    sms_daily_cap_per_recipient: int = 5
    sms_daily_cap_global: int = 10_000
    # Delivery attempts per message (first try included) and the first retry delay in seconds.
    notification_max_attempts: int = 5
    notification_retry_base_seconds: float = 30.0
    # Seconds after which a message left "sending" (the notifier died mid-send) is sent again.
    notification_send_lease_seconds: float = 300.0
    # Local times of day ("HH:MM") between which reminders go out; later ones wait for the next morning.
    reminder_earliest_local_time: str = "09:00"
    reminder_latest_local_time: str = "21:00"
    # Seconds between due-date scans of the ledger.
    due_date_scan_interval: float = 60.0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg 3 driver that SQLAlchemy needs."""
        scheme, _, rest = self.database_url.partition("://")
        return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else self.database_url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigError naming the first bad variable."""
    env = os.environ if environ is None else environ
    key_dir = env.get("KEY_DIR", DEFAULT_KEY_DIR)
    settings = Settings(
        database_url=_url(env, "DATABASE_URL", DEFAULT_DATABASE_URL, ("postgresql", "postgres")),
        amqp_uri=_url(env, "AMQP_URI", DEFAULT_AMQP_URI, ("amqp", "pyamqp", "amqps")),
        database_role=env.get("DATABASE_ROLE", "loansyncro_service"),
        gateway_host=env.get("GATEWAY_HOST", "127.0.0.1"),
        gateway_port=_int(env, "GATEWAY_PORT", 8000, 1, 65535),
        rpc_timeout=_float(env, "RPC_TIMEOUT", 10.0, 0.1),
        log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
        log_format=_choice(env, "LOG_FORMAT", "json", LOG_FORMATS),
        relay_batch_size=_int(env, "RELAY_BATCH_SIZE", 500, 1, 100_000),
        database_pool_size=_int(env, "DATABASE_POOL_SIZE", 4, 1, 100),
        catch_up_interval=_float(env, "CATCH_UP_INTERVAL", 5.0, 0.05),
        cors_allowed_origins=_origins(env, "CORS_ALLOWED_ORIGINS"),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
        session_check_cache_seconds=_float(env, "SESSION_CHECK_CACHE_SECONDS", 5.0, 0.0),
        key_dir=key_dir,
        access_token_private_key_file=env.get(
            "ACCESS_TOKEN_PRIVATE_KEY_FILE", str(Path(key_dir) / "access-token-ed25519.pem")
        ),
        access_token_public_key_files=_files(
            env, "ACCESS_TOKEN_PUBLIC_KEY_FILES", (str(Path(key_dir) / "access-token-ed25519.pub.pem"),)
        ),
        email_lookup_key_file=env.get("EMAIL_LOOKUP_KEY_FILE", str(Path(key_dir) / "email-lookup.key")),
        data_key_wrapping_key_file=env.get(
            "DATA_KEY_WRAPPING_KEY_FILE", str(Path(key_dir) / "data-key-wrapping.key")
        ),
        generate_missing_keys=_bool(env, "GENERATE_MISSING_KEYS", True),
        access_token_ttl_seconds=_int(env, "ACCESS_TOKEN_TTL_SECONDS", 600, 5, 3600),
        refresh_token_ttl_seconds=_int(env, "REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600, 60, 365 * 24 * 3600),
        argon2_memory_kib=_int(env, "ARGON2_MEMORY_KIB", MIN_ARGON2_MEMORY_KIB, MIN_ARGON2_MEMORY_KIB, 4 * 1024 * 1024),
        argon2_time_cost=_int(env, "ARGON2_TIME_COST", MIN_ARGON2_TIME_COST, MIN_ARGON2_TIME_COST, 20),
        argon2_parallelism=_int(env, "ARGON2_PARALLELISM", 1, 1, 16),
        sign_in_window_seconds=_int(env, "SIGN_IN_WINDOW_SECONDS", 900, 1, 24 * 3600),
        sign_in_max_failures_per_account=_int(env, "SIGN_IN_MAX_FAILURES_PER_ACCOUNT", 10, 1, 10_000),
        sign_in_max_failures_per_address=_int(env, "SIGN_IN_MAX_FAILURES_PER_ADDRESS", 100, 1, 1_000_000),
        smtp_host=env.get("SMTP_HOST") or None,
        smtp_port=_int(env, "SMTP_PORT", 587, 1, 65535),
        smtp_security=_choice(env, "SMTP_SECURITY", "starttls", SMTP_SECURITY_MODES),
        smtp_username=env.get("SMTP_USERNAME") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_sender=env.get("SMTP_SENDER", "LoanSyncro <reminders@localhost>"),
        smtp_timeout_seconds=_float(env, "SMTP_TIMEOUT_SECONDS", 10.0, 0.1),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
        twilio_from_number=env.get("TWILIO_FROM_NUMBER") or None,
        twilio_base_url=_url(env, "TWILIO_BASE_URL", "https://api.twilio.com", ("https", "http")),
        sms_daily_cap_per_recipient=_int(env, "SMS_DAILY_CAP_PER_RECIPIENT", 5, 0, 1000),
        sms_daily_cap_global=_int(env, "SMS_DAILY_CAP_GLOBAL", 10_000, 0, 10_000_000),
        notification_max_attempts=_int(env, "NOTIFICATION_MAX_ATTEMPTS", 5, 1, 20),
        notification_retry_base_seconds=_float(env, "NOTIFICATION_RETRY_BASE_SECONDS", 30.0, 0.01),
        notification_send_lease_seconds=_float(env, "NOTIFICATION_SEND_LEASE_SECONDS", 300.0, 1.0),
        reminder_earliest_local_time=_local_time(env, "REMINDER_EARLIEST_LOCAL_TIME", "09:00"),
        reminder_latest_local_time=_local_time(env, "REMINDER_LATEST_LOCAL_TIME", "21:00"),
        due_date_scan_interval=_float(env, "DUE_DATE_SCAN_INTERVAL", 60.0, 0.05),
        extra={key: value for key, value in env.items() if key.startswith("LOANSYNCRO_")},
    )
    _check_twilio(settings)
    if settings.reminder_latest_local_time <= settings.reminder_earliest_local_time:
        raise ConfigError(
            f"REMINDER_LATEST_LOCAL_TIME={settings.reminder_latest_local_time!r} is invalid: "
            f"expected a time after REMINDER_EARLIEST_LOCAL_TIME={settings.reminder_earliest_local_time!r}"
        )
    return settings


def _local_time(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, default)
    parts = value.split(":")
    if len(parts) != 2 or not all(part.isdigit() and len(part) == 2 for part in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
        raise ConfigError(f"{name}={value!r} is invalid: expected a 24-hour local time such as '09:00'")
    return value


def _check_twilio(settings: Settings) -> None:
    twilio_values = {
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "TWILIO_FROM_NUMBER": settings.twilio_from_number,
    }
    missing = [name for name, value in twilio_values.items() if value is None]
    if missing and len(missing) < len(twilio_values):
        raise ConfigError(f"{', '.join(missing)} missing: set all three Twilio variables, or none to log SMS to the console")
