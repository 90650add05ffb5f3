"""RPC wiring: which messages wait for the broker's publisher confirm."""

from __future__ import annotations

from nameko.amqp.publish import Publisher
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from loansyncro.service_kit import _Responder, _Rpc, rpc, rpc_proxy
from services.gateway.service import GatewayService


def test_service_rpc_replies_skip_the_confirm():
    class Service:
        name = "example"

        @rpc
        def read(self) -> int:
            return 1

    [entrypoint] = getattr(Service.read, ENTRYPOINT_EXTENSIONS_ATTR)
    assert isinstance(entrypoint, _Rpc)
    assert _Responder.publisher_cls.use_confirms is False
    assert Publisher.use_confirms is True, "nameko's own publishers keep their default"


def test_every_gateway_proxy_skips_the_confirm():
    proxies = {name: value for name in dir(GatewayService) if hasattr(value := getattr(GatewayService, name), "target_service")}
    assert {proxy.target_service for proxy in proxies.values()} >= {"accounts", "loans", "repayments", "ledger", "notifier"}
    assert all(proxy.options == rpc_proxy(proxy.target_service).options == {"use_confirms": False} for proxy in proxies.values())
