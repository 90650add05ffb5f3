"""Helpers shared by the benchmarks: a throwaway database and vhost, timing and tables."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

from loansyncro.config import DEFAULT_AMQP_URI, DEFAULT_DATABASE_URL, Settings, load_settings
from loansyncro.infra import admin_url


@contextmanager
def throwaway_environment(prefix: str = "loansyncro_bench", *, set_environment: bool = True) -> Iterator[Settings]:
    """Create, migrate and finally drop a database and a RabbitMQ vhost of their own.

    With set_environment, DATABASE_URL and AMQP_URI point at them until the
    end; otherwise only while migrating, which reads them.
    """
    from loansyncro.migrate import migrate

    run_id = uuid.uuid4().hex[:8]
    name = f"{prefix}_{run_id}"
    db = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    amqp = urlsplit(os.environ.get("AMQP_URI", DEFAULT_AMQP_URI))
    database_url = urlunsplit((db.scheme, db.netloc, f"/{name}", db.query, ""))
    amqp_uri = urlunsplit((amqp.scheme, amqp.netloc, f"/{quote(name, safe='')}", "", ""))
    rabbitmqctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([rabbitmqctl, "-q", "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        [rabbitmqctl, "-q", "set_permissions", "-p", name, amqp.username or "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    previous = {key: os.environ.get(key) for key in ("DATABASE_URL", "AMQP_URI")}
    os.environ.update({"DATABASE_URL": database_url, "AMQP_URI": amqp_uri})
    try:
        settings = load_settings()
        migrate(settings)
        if not set_environment:
            _restore(previous)
        yield settings
    finally:
        _restore(previous)
        with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        subprocess.run([rabbitmqctl, "-q", "delete_vhost", name], check=False, capture_output=True)


def _restore(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    """Run `run` `repeat` times and return the median wall time in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
