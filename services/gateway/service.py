"""The HTTP gateway: nameko `@http` entrypoints under /api/v1/.

Route mixins are listed in `GatewayService`'s bases. The loans and dashboard
mixins are imported when their modules exist, so either side can land first.
"""

from __future__ import annotations

import importlib
import logging

from services.gateway.base import GatewayBase

log = logging.getLogger(__name__)


def _optional_mixin(module: str, class_name: str) -> type:
    try:
        return getattr(importlib.import_module(module), class_name)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise  # the mixin exists but one of its own imports is broken
        return type(f"Missing{class_name}", (), {})


# Route mixins owned by the loans/ledger side: add new ones here.
LoansApi = _optional_mixin("services.gateway.loans_api", "LoansApi")
DashboardApi = _optional_mixin("services.gateway.dashboard_api", "DashboardApi")
ExportsApi = _optional_mixin("services.gateway.exports_api", "ExportsApi")


class GatewayService(LoansApi, DashboardApi, ExportsApi, GatewayBase):
    name = "gateway"


# `nameko run services.gateway.service` starts every class of this module that
# has entrypoints, so only GatewayService may stay visible here.
del LoansApi, DashboardApi, ExportsApi, GatewayBase
