"""The supervisor refuses to start a second system next to a running one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from loansyncro.devserver import ServiceGroup
from tests.e2e.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_busy_gateway_port_is_reported(system):
    second = ServiceGroup(system.settings, services=list(system.services))

    problem = second.check_free()

    assert problem is not None
    assert f"port {system.settings.gateway_port}" in problem
    assert "GATEWAY_PORT" in problem
    assert "DATABASE_URL" in problem, "a second system needs a database of its own too"


def test_vhost_in_use_is_reported(system):
    second = ServiceGroup(replace(system.settings, gateway_port=free_port()), services=list(system.services))

    problem = second.check_free()

    assert problem is not None
    assert "already consumes this RabbitMQ vhost" in problem
    assert "accounts" in problem
    assert "rabbitmqctl add_vhost" in problem


def test_silent_client_is_disconnected(system):
    import socket
    import time

    with socket.create_connection((system.settings.gateway_host, system.settings.gateway_port), timeout=30) as client:
        client.sendall(b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        received = client.recv(65536)
        waited = time.monotonic() - started

    # The e2e system sets CLIENT_SOCKET_TIMEOUT=3: the gateway gives up on the
    # unfinished body instead of waiting for ever.
    assert waited < 20
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b"application/problem+json" in received
