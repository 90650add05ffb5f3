"""Session fixtures: a fresh PostgreSQL database and RabbitMQ virtual host per test session.

Every pytest process (each xdist worker too) creates its own database and
vhost, migrates them, and drops them at the end, so runs never see each
other's data. The real servers come from DATABASE_URL and AMQP_URI, which
default to 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
import sqlalchemy as sa

from loansyncro.config import Settings, load_settings
from loansyncro.db import make_engine
from loansyncro.infra import admin_url

BASE_DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:5432/loansyncro")
BASE_AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def _rabbitmqctl(*args: str) -> None:
    executable = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([executable, "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def settings(run_id: str) -> Iterator[Settings]:
    """Settings pointing at this session's own database and vhost, migrated and declared."""
    from loansyncro.migrate import migrate

    database = f"loansyncro_test_{run_id}"
    vhost = f"loansyncro_test_{run_id}"
    parts = urlsplit(BASE_DATABASE_URL)
    database_url = urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))
    amqp = urlsplit(BASE_AMQP_URI)
    amqp_uri = urlunsplit((amqp.scheme, amqp.netloc, f"/{quote(vhost, safe='')}", "", ""))

    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, amqp.username or "guest", ".*", ".*", ".*")
    previous = {key: os.environ.get(key) for key in ("DATABASE_URL", "AMQP_URI")}
    os.environ["DATABASE_URL"] = database_url
    os.environ["AMQP_URI"] = amqp_uri
    try:
        current = load_settings()
        migrate(current)
        yield current
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[sa.Engine]:
    """Engine running as the service role, as the services do."""
    engine = make_engine(settings, pool_size=10)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def admin_engine(settings: Settings) -> Iterator[sa.Engine]:
    """Engine as the login role (the tables' owner), for checks the service role may not run."""
    engine = make_engine(settings, role=None, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def isolated_settings() -> Iterator[Settings]:
    """Settings of a database and vhost of the test module's own.

    For modules that start their own relays, consumers or service processes:
    on the session's database the end-to-end system may be running, and its
    relay and services would take part in the test.
    """
    from bench.common import throwaway_environment

    with throwaway_environment("loansyncro_test_isolated") as isolated:
        yield isolated


def isolated_engines(settings: Settings) -> tuple[sa.Engine, sa.Engine]:
    """Return (service-role engine, owner engine) for isolated settings."""
    return make_engine(settings, pool_size=10), make_engine(settings, role=None, pool_size=2)
