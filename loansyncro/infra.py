"""Reachability checks and database creation, with messages a newcomer can act on."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit, urlunsplit

import psycopg
from kombu import Connection

from loansyncro.config import Settings


class InfrastructureError(RuntimeError):
    """PostgreSQL or RabbitMQ cannot be reached. The message gives the address and how to start it."""


POSTGRES_HINT = (
    "Start it with 'make services' (Debian/Ubuntu, as root) or "
    "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start', "
    "or point DATABASE_URL at a running server."
)
RABBITMQ_HINT = (
    "Start it with 'make services' (Debian/Ubuntu, as root) or 'rabbitmq-server -detached', "
    "or point AMQP_URI at a running broker."
)


def _address(url: str, default_port: int) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or default_port}"


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_postgres(settings: Settings, timeout: float = 3.0) -> None:
    maintenance = admin_url(settings.database_url)
    try:
        with psycopg.connect(maintenance, connect_timeout=max(1, int(timeout))):
            pass
    except psycopg.OperationalError as error:
        text = " ".join(str(error).split())
        if "password authentication failed" in text or ("role" in text and "does not exist" in text):
            hint = "Check the user and password in DATABASE_URL."
        else:
            hint = POSTGRES_HINT
        raise InfrastructureError(
            f"PostgreSQL at {_address(settings.database_url, 5432)} ({_redacted(settings.database_url)}) "
            f"refused the connection: {text.rstrip('.?')}. {hint}"
        ) from error


def check_rabbitmq(settings: Settings, timeout: float = 3.0) -> None:
    try:
        with Connection(settings.amqp_uri, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except (OSError, socket.timeout, Exception) as error:  # kombu wraps transport errors variously
        text = " ".join(str(error).split()).rstrip(".")
        vhost = urlsplit(settings.amqp_uri).path.lstrip("/") or "/"
        if "NOT_ALLOWED" in text and "vhost" in text:
            hint = (
                f"The broker runs but has no vhost {vhost!r}: create it with 'rabbitmqctl add_vhost {vhost}' and "
                f"'rabbitmqctl set_permissions -p {vhost} guest \".*\" \".*\" \".*\"'."
            )
        elif "ACCESS_REFUSED" in text:
            hint = "The broker refused the login: check the user and password in AMQP_URI."
        else:
            hint = RABBITMQ_HINT
        raise InfrastructureError(
            f"RabbitMQ at {_address(settings.amqp_uri, 5672)} ({_redacted(settings.amqp_uri)}) "
            f"is not usable: {text}. {hint}"
        ) from error


def admin_url(database_url: str) -> str:
    """Return the URL of the same server's 'postgres' database, for creating databases."""
    parts = urlsplit(database_url)
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    return urlunsplit((scheme, parts.netloc, "/postgres", parts.query, ""))


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/") or "postgres"


def create_database_if_missing(settings: Settings) -> bool:
    """Create the database named in DATABASE_URL; return whether it was created."""
    name = database_name(settings.database_url)
    with psycopg.connect(admin_url(settings.database_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        try:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False
    return True
