"""HTTP routes of reminders: the caller's delivery log and a test reminder, /api/v1/notifications."""

from __future__ import annotations

from typing import Any

import marshmallow
from marshmallow import fields

from loansyncro.service_kit import rpc_proxy
from services.gateway import response_schemas as out
from services.gateway.http import Reply, RequestContext, route


class NotificationListQuery(marshmallow.Schema):
    limit = fields.String(metadata={"description": "Page size, 1 to 100 (default 20)"})
    offset = fields.String(metadata={"description": "Entries to skip (default 0)"})


def _plain(loaded: dict[str, Any] | None) -> dict[str, Any]:
    return dict(loaded or {})


class NotificationsApi:
    notifier_rpc = rpc_proxy("notifier")

    @route(
        "GET",
        "/api/v1/notifications",
        query=NotificationListQuery,
        response=out.NotificationPage,
        summary="The caller's reminders and alerts with their delivery status, newest first",
        tag="notifications",
    )
    def list_notifications(self, ctx: RequestContext) -> Reply:
        return Reply(200, ctx.call(self.notifier_rpc.list_notifications, ctx.user_id, _plain(ctx.query)))

    @route(
        "POST",
        "/api/v1/notifications/test",
        status=202,
        response=out.QueuedNotifications,
        summary="Send the caller a test reminder on their chosen channels",
        tag="notifications",
    )
    def send_test_reminder(self, ctx: RequestContext) -> Reply:
        # The Idempotency-Key becomes the test's occasion id, so a retried request queues one test.
        return Reply(202, ctx.call(self.notifier_rpc.send_test_reminder, ctx.user_id, ctx.command_id))
