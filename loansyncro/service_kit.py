"""nameko wiring shared by the services: database, event store, event consumers.

This module imports nameko; the domain modules of the kernel do not.
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.exceptions import registry as remote_error_registry
from nameko.exceptions import get_module_path
from nameko.extensions import DependencyProvider
from nameko.messaging import consume
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER, LOGIN_METHOD_CONFIG_KEY, SERIALIZER_CONFIG_KEY
from nameko.rpc import Responder, Rpc, RpcProxy, get_rpc_exchange
from sqlalchemy.engine import Engine

from loansyncro.config import Settings, load_settings
from loansyncro.db import make_engine
from loansyncro.errors import CROSS_SERVICE_ERRORS
from loansyncro.eventstore import EventStore
from loansyncro.messaging import SUBSCRIPTIONS, consumer_queue

log = logging.getLogger(__name__)

# Let RPC callers receive these exceptions as the same classes, with their args.
for _error in CROSS_SERVICE_ERRORS:
    remote_error_registry[get_module_path(_error)] = _error


def rpc(method: Any = None, **options: Any) -> Any:
    """nameko's `@rpc`, used bare or with options, with the domain's errors marked as expected.

    nameko then logs a rejection (a wrong password, an unknown loan) at
    WARNING without a traceback, and keeps ERROR with a traceback for real
    failures.
    """
    options.setdefault("expected_exceptions", CROSS_SERVICE_ERRORS)
    if method is None:
        return _Rpc.decorator(**options)
    return _Rpc.decorator(**options)(method)


def rpc_proxy(service: str) -> RpcProxy:
    """An RPC proxy whose requests are published without waiting for the broker's confirm.

    For callers that wait for the reply with a timeout and send an idempotency
    key with every state-changing call, as the gateway does. A request the
    broker loses then surfaces as a timeout (504), which the client retries
    safely with the same Idempotency-Key. The confirm would cost a broker round
    trip per call. It only distinguishes a service whose queue was never
    declared (nameko's UnknownService). A stopped service keeps its queue,
    so its calls time out either way.
    """
    return RpcProxy(service, use_confirms=False)


class _UnconfirmedPublisher(Publisher):
    use_confirms = False


class _Responder(Responder):
    publisher_cls = _UnconfirmedPublisher


class _Rpc(Rpc):
    """nameko's RPC entrypoint, with replies published without publisher confirms.

    The caller waits for the reply with a timeout, and the request message is
    acknowledged only after the reply was handed to the broker, as in nameko.
    A lost reply looks to the caller like a slow service: it gets a 504 and
    retries with the same idempotency key. Waiting for the confirm would hold
    every worker for one more broker round trip.
    """

    def handle_result(self, message: Any, worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        config = self.container.config
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY],
            get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.rpc_consumer.queue_consumer.ack_message(message)
        return result, exc_info


class Persistence:
    """Dependency injected into service workers: settings, the engine and the event store."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.store = EventStore(engine)


class Database(DependencyProvider):
    """One engine per service container, created at start and disposed at stop."""

    def __init__(self, pool_size: int | None = None) -> None:
        self.pool_size = pool_size
        self.persistence: Persistence | None = None

    def setup(self) -> None:
        settings = load_settings()
        engine = make_engine(settings, pool_size=self.pool_size)
        self.persistence = Persistence(settings, engine)
        log.info("service starting", extra={"service_name": self.container.service_name})

    def stop(self) -> None:
        if self.persistence is not None:
            self.persistence.engine.dispose()
        log.info("service stopped", extra={"service_name": self.container.service_name})

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> Persistence:
        assert self.persistence is not None, "Database used before setup"
        return self.persistence


def event_consumer(consumer: str) -> Any:
    """nameko entrypoint decorator consuming the queue of `consumer` (see messaging.SUBSCRIPTIONS).

    The handler should pass the body to `Follower.handle_message`, which never
    raises for a failing projection: it retries, then parks the event.
    """
    return consume(consumer_queue(consumer, SUBSCRIPTIONS[consumer]), requeue_on_error=False)
