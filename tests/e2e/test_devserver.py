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


def test_vhost_in_use_is_reported(system):
    second = ServiceGroup(replace(system.settings, gateway_port=free_port()), services=list(system.services))

    problem = second.check_free()

    assert problem is not None
    assert "already consumes this RabbitMQ vhost" in problem
    assert "accounts" in problem
    assert "rabbitmqctl add_vhost" in problem
