"""Rendering off the eventlet hub: other green threads keep running while a statement renders."""

from __future__ import annotations

import datetime as dt
import time

import eventlet

from loansyncro.statements import StatementOptions, render_statement_pdf
from loansyncro.statements.samples import sample_loan, sample_statement
from services.gateway.exports_api import export_filename, render_off_hub


def test_hub_keeps_running_during_render():
    statement = sample_statement([sample_loan(1500)])
    options = StatementOptions("en_US", dt.datetime.now(dt.UTC))
    ticks: list[float] = []
    rendering = True

    def ticker() -> None:
        while rendering:
            ticks.append(time.monotonic())
            eventlet.sleep(0.01)

    thread = eventlet.spawn(ticker)
    started = time.monotonic()
    pdf = render_off_hub(render_statement_pdf, statement, options)
    elapsed = time.monotonic() - started
    rendering = False
    thread.wait()

    assert pdf.startswith(b"%PDF-")
    assert elapsed > 0.3, "the render was too fast to show anything; use more repayments"
    # A blocked hub would let the ticker run once before and once after the render.
    assert len(ticks) >= 10
    largest_gap = max(later - earlier for earlier, later in zip(ticks, ticks[1:]))
    assert largest_gap < elapsed / 2


def test_export_filename_names_kind_and_date():
    assert export_filename("statement", "2026-12-04", "pdf") == "loansyncro-statement-2026-12-04.pdf"
    assert export_filename("repayments", "2026-01-31", "csv") == "loansyncro-repayments-2026-01-31.csv"
