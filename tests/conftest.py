"""Session fixtures: a fresh PostgreSQL database and RabbitMQ virtual host per test session.

Every pytest process (each xdist worker too) creates its own database and
vhost, migrates them, and drops them at the end, so runs never see each
other's data. The real servers come from DATABASE_URL and AMQP_URI, which
default to 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bench.common import throwaway_environment
from loansyncro.config import Settings
from loansyncro.db import make_engine


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """Settings pointing at this session's own database and vhost, migrated and declared.

    DATABASE_URL and AMQP_URI point at them for the whole session, so
    processes the tests start use them too.
    """
    with throwaway_environment("loansyncro_test") as own:
        yield own


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
    with throwaway_environment("loansyncro_test_isolated") as isolated:
        yield isolated


def isolated_engines(settings: Settings) -> tuple[sa.Engine, sa.Engine]:
    """Return (service-role engine, owner engine) for isolated settings."""
    return make_engine(settings, pool_size=10), make_engine(settings, role=None, pool_size=2)
