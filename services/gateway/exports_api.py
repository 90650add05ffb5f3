"""HTTP routes of the exports: PDF statement, CSV of loans, schedules and repayments, JSON history.

Every export takes the dashboard's filters (loan_ids, status, from, to) and
reads one snapshot of the ledger's statement data, so its figures equal the
dashboard's. Rendering runs in eventlet's native thread pool
(`eventlet.tpool`): a 10,000-repayment PDF takes seconds of CPU, and on the
hub it would stop every other request of this gateway process until done.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import marshmallow
from eventlet import tpool
from eventlet.semaphore import Semaphore
from marshmallow import fields
from werkzeug.wrappers import Response

from loansyncro.service_kit import rpc_proxy
from loansyncro.statements import StatementOptions, history_json, loans_csv, render_statement_pdf, repayments_csv, schedule_csv
from services.gateway.http import Reply, RequestContext, route

log = logging.getLogger(__name__)

PDF_TYPE: Final = "application/pdf"
CSV_TYPE: Final = "text/csv; charset=utf-8; header=present"
JSON_DOWNLOAD_TYPE: Final = "application/json; charset=utf-8"
# Renders running at once per gateway process. Each holds a native thread and
# competes for the GIL with the hub, so more would slow every request down.
MAX_CONCURRENT_RENDERS: Final = 2
_render_slots = Semaphore(MAX_CONCURRENT_RENDERS)

T = TypeVar("T")


class ExportQuery(marshmallow.Schema):
    loan_ids = fields.String(metadata={"description": "Comma-separated loan ids; default all loans"})
    status = fields.String(metadata={"description": "all (default), active, on_track, overdue, paid_off or closed"})
    frame_from = fields.String(data_key="from", metadata={"description": "List installments and repayments from this date (YYYY-MM-DD)"})
    frame_to = fields.String(data_key="to", metadata={"description": "List installments and repayments up to this date (YYYY-MM-DD)"})


@dataclass
class FileReply(Reply):
    """A download: raw bytes with their media type and a Content-Disposition file name."""

    body: bytes = b""
    filename: str = "download"

    def to_response(self) -> Response:
        response = Response(self.body, status=self.status, content_type=self.content_type)
        response.headers["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        for name, value in self.headers.items():
            response.headers[name] = value
        return response


def render_off_hub(render: Callable[..., T], *args: Any) -> T:
    """Run a CPU-bound render in a native thread, so the eventlet hub keeps serving other requests."""
    with _render_slots:
        return tpool.execute(render, *args)


def export_filename(kind: str, as_of: str, extension: str) -> str:
    """Name a download after its kind and as-of date, such as loansyncro-statement-2026-12-04.pdf."""
    return f"loansyncro-{kind}-{dt.date.fromisoformat(as_of).isoformat()}.{extension}"


class ExportsApi:
    statements_rpc = rpc_proxy("ledger")

    def _statement(self, ctx: RequestContext) -> tuple[dict[str, Any], Mapping[str, Any]]:
        """Fetch the user's profile and the ledger's statement data for the request's filters."""
        profile = ctx.call(self.accounts_rpc.get_profile, ctx.user_id)  # type: ignore[attr-defined]
        query: dict[str, Any] = dict(ctx.query or {})
        # The ledger takes the option names of the query string.
        for attribute, name in (("frame_from", "from"), ("frame_to", "to")):
            if attribute in query:
                query[name] = query.pop(attribute)
        statement = ctx.call(self.statements_rpc.statement_data, ctx.user_id, query, profile.get("time_zone"))
        return statement, profile

    def _log_export(self, ctx: RequestContext, kind: str, statement: Mapping[str, Any], size: int, started: float) -> None:
        log.info(
            "export rendered",
            extra={
                "user_id": ctx.user_id,
                "export": kind,
                "loans": len(statement["loans"]),
                "repayments": sum(len(loan["repayments"]) for loan in statement["loans"]),
                "bytes": size,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )

    @route("GET", "/api/v1/exports/statement.pdf", query=ExportQuery, summary="PDF statement with charts", tag="exports")
    def export_statement_pdf(self, ctx: RequestContext) -> Reply:
        started = time.perf_counter()
        statement, profile = self._statement(ctx)
        options = StatementOptions(locale=profile.get("locale"), generated_at=dt.datetime.now(dt.UTC))
        body = render_off_hub(render_statement_pdf, statement, options)
        self._log_export(ctx, "statement.pdf", statement, len(body), started)
        return FileReply(200, content_type=PDF_TYPE, body=body, filename=export_filename("statement", statement["as_of"], "pdf"))

    @route("GET", "/api/v1/exports/loans.csv", query=ExportQuery, summary="CSV of the loans and their figures", tag="exports")
    def export_loans_csv(self, ctx: RequestContext) -> Reply:
        return self._csv(ctx, "loans", loans_csv)

    @route("GET", "/api/v1/exports/schedule.csv", query=ExportQuery, summary="CSV of the installment schedules", tag="exports")
    def export_schedule_csv(self, ctx: RequestContext) -> Reply:
        return self._csv(ctx, "schedule", schedule_csv)

    @route("GET", "/api/v1/exports/repayments.csv", query=ExportQuery, summary="CSV of the repayment history", tag="exports")
    def export_repayments_csv(self, ctx: RequestContext) -> Reply:
        return self._csv(ctx, "repayments", repayments_csv)

    def _csv(self, ctx: RequestContext, kind: str, render: Callable[[Mapping[str, Any]], bytes]) -> Reply:
        started = time.perf_counter()
        statement, _ = self._statement(ctx)
        body = render_off_hub(render, statement)
        self._log_export(ctx, f"{kind}.csv", statement, len(body), started)
        return FileReply(200, content_type=CSV_TYPE, body=body, filename=export_filename(kind, statement["as_of"], "csv"))

    @route("GET", "/api/v1/exports/history.json", query=ExportQuery, summary="JSON export of the whole history", tag="exports")
    def export_history_json(self, ctx: RequestContext) -> Reply:
        started = time.perf_counter()
        statement, _ = self._statement(ctx)
        body = render_off_hub(history_json, statement, dt.datetime.now(dt.UTC))
        self._log_export(ctx, "history.json", statement, len(body), started)
        return FileReply(200, content_type=JSON_DOWNLOAD_TYPE, body=body, filename=export_filename("history", statement["as_of"], "json"))
