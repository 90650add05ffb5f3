"""The HTTP gateway: nameko `@http` entrypoints under /api/v1/.

Route mixins are listed in `GatewayService`'s bases. The loans and dashboard
mixins are imported when their modules exist, so either side can land first.
Only GatewayService may be a module-level class here: `nameko run` starts
every class of the module that has entrypoints, so the mixins are reached
through their modules.
"""

from __future__ import annotations

import importlib

from services.gateway import accounts_api, base


def _optional_mixin(module: str, class_name: str) -> type:
    try:
        return getattr(importlib.import_module(module), class_name)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise  # the mixin exists but one of its own imports is broken
        return type(f"Missing{class_name}", (), {})


# Route mixins: add new ones to this tuple.
_MIXINS: tuple[type, ...] = (
    _optional_mixin("services.gateway.loans_api", "LoansApi"),
    _optional_mixin("services.gateway.dashboard_api", "DashboardApi"),
    _optional_mixin("services.gateway.exports_api", "ExportsApi"),
    _optional_mixin("services.gateway.notifications_api", "NotificationsApi"),
    accounts_api.AccountsApi,
    base.GatewayBase,
)


class GatewayService(*_MIXINS):  # type: ignore[misc]
    name = "gateway"
