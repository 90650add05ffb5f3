"""Start the relay and every service as separate processes for the whole e2e session.

The processes use this session's own database and vhost (see tests/conftest.py)
and a free loopback port for the gateway. Their logs go to a temporary folder,
named in the failure message when a process dies.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from loansyncro.config import Settings, load_settings
from loansyncro.devserver import ServiceGroup

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    }
    log_dir: Path = tmp_path_factory.mktemp("service-logs")
    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    group = ServiceGroup(load_settings(), env=env, log_dir=log_dir)
    try:
        group.start()
        group.wait_until_ready(timeout=90)
        yield group
    finally:
        group.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def base_url(system: ServiceGroup) -> str:
    return system.url
