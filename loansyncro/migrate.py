"""Bring a database and the broker up to date: create, migrate, declare queues."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from loansyncro.config import Settings
from loansyncro.infra import check_postgres, check_rabbitmq, create_database_if_missing
from loansyncro.messaging import declare_topology

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


def migrate(settings: Settings, *, topology: bool = True) -> None:
    """Create the database if needed, apply every migration head, declare the RabbitMQ topology.

    Alembic reads DATABASE_URL itself, so `settings` must come from the same environment.
    """
    check_postgres(settings)
    if create_database_if_missing(settings):
        log.info("database created", extra={"database": settings.database_url.rsplit("/", 1)[-1]})
    command.upgrade(alembic_config(), "heads")
    log.info("migrations applied")
    if topology:
        check_rabbitmq(settings)
        declare_topology(settings.amqp_uri)
