"""HTTP route of the dashboard: /api/v1/dashboard."""

from __future__ import annotations

from typing import Any

import marshmallow
from marshmallow import fields

from loansyncro.service_kit import rpc_proxy
from services.gateway import response_schemas as out
from services.gateway.http import Reply, RequestContext, route


class DashboardQuery(marshmallow.Schema):
    loan_ids = fields.String(metadata={"description": "Comma-separated loan ids; default all loans"})
    status = fields.String(metadata={"description": "all (default), active, on_track, overdue, paid_off or closed"})
    frame_from = fields.String(data_key="from", metadata={"description": "Start date of the chart time frame"})
    frame_to = fields.String(data_key="to", metadata={"description": "End date of the chart time frame"})
    upcoming_days = fields.String(metadata={"description": "Upcoming payments in the next N days (default 30)"})
    upcoming_from = fields.String(metadata={"description": "Upcoming payments from this date (with upcoming_to)"})
    upcoming_to = fields.String()


class DashboardApi:
    dashboard_rpc = rpc_proxy("ledger")

    @route("GET", "/api/v1/dashboard", query=DashboardQuery, response=out.Dashboard, summary="Totals per currency, upcoming, overdue and charts", tag="dashboard")
    def dashboard(self, ctx: RequestContext) -> Reply:
        query: dict[str, Any] = dict(ctx.query or {})
        # The ledger takes the option names of the query string.
        for attribute, name in (("frame_from", "from"), ("frame_to", "to")):
            if attribute in query:
                query[name] = query.pop(attribute)
        time_zone = self.user_time_zone(ctx) if hasattr(self, "user_time_zone") else None
        return Reply(200, ctx.call(self.dashboard_rpc.dashboard, ctx.user_id, query, time_zone))
