"""The accounts process keeps serving RPCs while an argon2id hash runs."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

import loansyncro.service_kit  # noqa: F401 - registers the cross-service errors for RPC callers
from loansyncro.devserver import ServiceGroup

pytestmark = pytest.mark.integration

PASSWORD = "violet tractor sings at dawn"


# Its own accounts process must be the only one handling "accounts" RPCs.
@pytest.fixture(scope="module")
def settings(isolated_settings):
    return isolated_settings


@pytest.fixture(scope="module")
def slow_accounts(settings, tmp_path_factory):
    """Accounts alone, as its own process, with hashing slowed to about a second (256 MiB, 8 passes)."""
    env = {
        "DATABASE_URL": settings.database_url,
        "AMQP_URI": settings.amqp_uri,
        "ARGON2_MEMORY_KIB": str(256 * 1024),
        "ARGON2_TIME_COST": "8",
        "LOG_LEVEL": "WARNING",
    }
    group = ServiceGroup(settings, env=env, log_dir=tmp_path_factory.mktemp("accounts-logs"), services=["accounts"])
    try:
        group.start()
        group.wait_until_ready(timeout=60)
        yield {"AMQP_URI": settings.amqp_uri, "rpc_exchange": "loansyncro-rpc", "serializer": "json"}
    finally:
        group.stop()


def test_rpc_served_while_hash_runs(slow_accounts):
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    with ClusterRpcProxy(slow_accounts) as rpc:
        user = rpc.accounts.register(str(uuid.uuid4()), email, PASSWORD, {})

    sign_in_done = threading.Event()
    sign_in_seconds: list[float] = []

    def sign_in() -> None:
        with ClusterRpcProxy(slow_accounts) as rpc:
            started = time.perf_counter()
            rpc.accounts.sign_in(email, PASSWORD, "127.0.0.1")
            sign_in_seconds.append(time.perf_counter() - started)
        sign_in_done.set()

    with ClusterRpcProxy(slow_accounts) as rpc:
        rpc.accounts.get_profile(user["user_id"])  # warm the connection
        worker = threading.Thread(target=sign_in)
        worker.start()
        time.sleep(0.2)
        started = time.perf_counter()
        profile = rpc.accounts.get_profile(user["user_id"])
        profile_seconds = time.perf_counter() - started
        served_during_hash = not sign_in_done.is_set()
        worker.join(60)

    assert profile["email"] == email
    assert sign_in_seconds, "sign-in did not finish"
    assert sign_in_seconds[0] > 0.5, "hashing was too fast for this test to show anything"
    assert served_during_hash, "the profile read waited for the hash to finish"
    assert profile_seconds < sign_in_seconds[0] / 2
