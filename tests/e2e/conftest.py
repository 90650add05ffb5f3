"""Start the relay and every service as separate processes for the whole e2e session.

The processes use this session's own database and vhost (see tests/conftest.py)
and a free loopback port for the gateway. Their logs go to a temporary folder,
named in the failure message when a process dies.
"""

from __future__ import annotations

from dataclasses import replace
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from loansyncro.config import Settings
from loansyncro.devserver import ServiceGroup
from tests.conftest import isolated_engines

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """The system's own database and vhost.

    Its relay, consumers and timers run in the background for the whole
    session, so they must not share data with the integration tests.
    """
    from bench.common import throwaway_environment

    with throwaway_environment("loansyncro_test_e2e", set_environment=False) as own:
        yield own


@pytest.fixture(scope="session")
def engines(settings: Settings) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    service, owner = isolated_engines(settings)
    yield service, owner
    service.dispose()
    owner.dispose()


@pytest.fixture(scope="session")
def engine(engines: tuple[sa.Engine, sa.Engine]) -> sa.Engine:
    return engines[0]


@pytest.fixture(scope="session")
def admin_engine(engines: tuple[sa.Engine, sa.Engine]) -> sa.Engine:
    return engines[1]


@pytest.fixture(scope="session")
def system(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceGroup]:
    port = free_port()
    env = {
        "DATABASE_URL": settings.database_url,
        "AMQP_URI": settings.amqp_uri,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "LOG_LEVEL": "INFO",
        "CATCH_UP_INTERVAL": "1",
        "CLIENT_SOCKET_TIMEOUT": "3",
    }
    log_dir: Path = tmp_path_factory.mktemp("service-logs")
    group = ServiceGroup(replace(settings, gateway_port=port), env=env, log_dir=log_dir)
    try:
        group.start()
        group.wait_until_ready(timeout=90)
        yield group
    finally:
        group.stop()


@pytest.fixture(scope="session")
def base_url(system: ServiceGroup) -> str:
    return system.url
