"""The connection pool: a burst wider than the pool waits for pooled connections instead of opening new ones."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from loansyncro.db import make_engine


def test_burst_wider_than_pool_reuses_pooled_connections(settings):
    engine = make_engine(settings, pool_size=2)
    backends: list[int] = []
    lock = threading.Lock()

    def query() -> None:
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid() FROM pg_sleep(0.05)")).scalar_one()
        with lock:
            backends.append(pid)

    try:
        # Three rounds of six concurrent queries on a pool of two: an overflow
        # connection would be closed on return and a new server process started
        # for the next round.
        for _ in range(3):
            threads = [threading.Thread(target=query) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        engine.dispose()

    assert len(backends) == 18
    assert len(set(backends)) <= 2, f"{len(set(backends))} server processes served a pool of 2"
