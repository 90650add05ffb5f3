"""Time and memory of the exports for 100, 1,000 and 10,000 repayments.

Each size runs in a fresh Python process (`--child`), so its peak resident
set size (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) belongs to that size
alone. The statement data is synthetic (`loansyncro.statements.samples`):
one loan with N repayments and five small loans in other currencies, so the
work grows with N and the rest stays fixed. No database or broker is used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import platform
import resource
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

DEFAULT_SIZES = (100, 1_000, 10_000)
# A 10,000-repayment PDF took 8 to 32 s of wall time on a shared 2-core machine;
# the timeout only stops a child that hangs.
CHILD_TIMEOUT_SECONDS = 600


def build_statement(repayments: int) -> dict[str, Any]:
    from loansyncro.statements.samples import sample_loan, sample_statement

    loans = [
        sample_loan(repayments, name="Hipoteca", lender="José Muñoz Crédito", currency="EUR"),
        sample_loan(12, name="Flat", lender="Barclays", currency="GBP", principal=Decimal("180000.00")),
        sample_loan(12, name="Авто кредит", lender="Сбербанк", currency="INR", principal=Decimal("800000.00")),
        sample_loan(12, name="Car", lender="Hana Bank", currency="KRW", principal=Decimal("20000000")),
        sample_loan(12, name="Ev kredisi", lender="Ziraat Bankası", currency="TRY", principal=Decimal("90000.00")),
        sample_loan(12, name="Tokyo flat", lender="Mizuho", currency="JPY", principal=Decimal("3000000")),
    ]
    return sample_statement(loans)


def measure_child(repayments: int) -> dict[str, Any]:
    """Render every export once in this process and return times (s), sizes (bytes) and peak RSS (KiB)."""
    from pypdf import PdfReader

    from loansyncro.statements import StatementOptions, history_json, render_statement_pdf, repayments_csv

    statement = build_statement(repayments)
    # Warm up the font registration and Babel's locale data outside the timed region.
    render_statement_pdf(build_statement(1), StatementOptions("en_US", dt.datetime.now(dt.UTC)))
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    started, cpu_started = time.perf_counter(), time.process_time()
    pdf = render_statement_pdf(statement, StatementOptions("en_US", dt.datetime.now(dt.UTC)))
    pdf_seconds = time.perf_counter() - started
    pdf_cpu_seconds = time.process_time() - cpu_started
    rss_after_pdf_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    started = time.perf_counter()
    csv_bytes = repayments_csv(statement)
    csv_seconds = time.perf_counter() - started
    started = time.perf_counter()
    json_bytes = history_json(statement, dt.datetime.now(dt.UTC))
    json_seconds = time.perf_counter() - started

    return {
        "repayments": repayments,
        "pdf_seconds": pdf_seconds,
        "pdf_cpu_seconds": pdf_cpu_seconds,
        "pdf_bytes": len(pdf),
        "pdf_pages": len(PdfReader(io.BytesIO(pdf)).pages),
        "rss_before_kib": rss_before_kib,
        "rss_peak_kib": rss_after_pdf_kib,
        "csv_seconds": csv_seconds,
        "csv_bytes": len(csv_bytes),
        "json_seconds": json_seconds,
        "json_bytes": len(json_bytes),
    }


def run_child(repayments: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.export", "--child", str(repayments)],
        check=True,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Time the PDF statement, repayments CSV and JSON history for growing repayment counts, "
        "each size in a fresh process, and print a Markdown table."
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        metavar="N",
        help="repayment counts to measure, from 1 to 20000 (default: 100 1000 10000)",
    )
    parser.add_argument("--child", type=int, metavar="N", help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.child is not None:
        print(json.dumps(measure_child(arguments.child)))
        return
    for size in arguments.sizes:
        if not 1 <= size <= 20_000:
            parser.error(f"--sizes value {size} is out of range: use 1 to 20000 repayments")

    results = [run_child(size) for size in arguments.sizes]
    print(f"Python {platform.python_version()} on {platform.machine()}, one run per size, each in a fresh process")
    print()
    # CPU time is the figure to compare between sizes: wall time also counts
    # waiting for a core when other processes share the machine.
    print(
        "| repayments | PDF pages | PDF wall time (s) | PDF CPU time (s) | CPU ms per repayment "
        "| CPU ms per repayment added since the previous size "
        "| peak RSS (MiB) | RSS growth in render (MiB) | PDF size (KiB) | CSV time (s) | JSON time (s) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    previous: dict[str, Any] | None = None
    for result in results:
        per_repayment_ms = result["pdf_cpu_seconds"] * 1000 / result["repayments"]
        # The marginal cost leaves out the fixed work (cover, small loans), so a
        # linear render shows the same figure for every size.
        marginal = "–"
        if previous is not None and result["repayments"] > previous["repayments"]:
            added = result["repayments"] - previous["repayments"]
            marginal = f"{(result['pdf_cpu_seconds'] - previous['pdf_cpu_seconds']) * 1000 / added:.3f}"
        previous = result
        print(
            f"| {result['repayments']:,} | {result['pdf_pages']} | {result['pdf_seconds']:.2f} "
            f"| {result['pdf_cpu_seconds']:.2f} | {per_repayment_ms:.3f} | {marginal} "
            f"| {result['rss_peak_kib'] / 1024:.0f} | {(result['rss_peak_kib'] - result['rss_before_kib']) / 1024:.0f} "
            f"| {result['pdf_bytes'] / 1024:.0f} | {result['csv_seconds']:.3f} | {result['json_seconds']:.3f} |"
        )


if __name__ == "__main__":
    main()
