"""The gateway's own tables never hold a request past RPC_TIMEOUT."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import sqlalchemy as sa

from services.gateway.base import gateway_engine
from services.gateway.http import Reply, error_reply
from services.gateway.idempotency import IdempotencyStore

pytestmark = [pytest.mark.integration]


def test_locked_idempotency_table_gives_503(settings, admin_engine):
    engine = gateway_engine(replace(settings, rpc_timeout=1.0))
    store = IdempotencyStore(engine, stale_after_seconds=30)
    outcome: list[BaseException | Reply] = []

    def run_request() -> None:
        try:
            outcome.append(store.run("user-1", "key-00000001", "hash", lambda: Reply(201, {}), "req-1"))
        except BaseException as error:  # noqa: BLE001 - the test inspects whatever came out
            outcome.append(error)

    try:
        with admin_engine.connect() as holder:
            holder.execute(sa.text("LOCK TABLE gateway.idempotency_keys IN ACCESS EXCLUSIVE MODE"))
            worker = threading.Thread(target=run_request)
            worker.start()
            worker.join(timeout=30)
            holder.rollback()
    finally:
        engine.dispose()

    assert not worker.is_alive(), "the request waited for the lock without a bound"
    [error] = outcome
    assert isinstance(error, sa.exc.OperationalError), error
    assert "timeout" in str(error)
    assert error_reply(error, "req-1").status == 503
