"""Time the loan mathematics against numpy-financial building the same annuity table.

The workload is a 30-year monthly annuity (250000.00 at 6%, 360 installments):
the schedule built from new terms and from terms whose due dates are already
cached, and the loan state after 360 repayments paid on their due dates. The
baseline is numpy-financial computing the payment and the vectorised interest
and principal columns for the same 360 periods in floats. Each figure is the
median of ``--repeat`` runs in this process.

Run from the repository root: ``python -m bench.schedule --repeat 50``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

import numpy as np
import numpy_financial as npf

from loansyncro.schedule import LoanTerms, Repayment, build_schedule, loan_state

PRINCIPAL: Final[Decimal] = Decimal("250000.00")
ANNUAL_RATE: Final[Decimal] = Decimal("6")
INSTALLMENTS: Final[int] = 360
FIRST_START: Final[date] = date(2024, 1, 31)


def make_terms(offset_days: int) -> LoanTerms:
    """Return the benchmark loan starting ``offset_days`` after the first start date."""
    return LoanTerms(
        principal=PRINCIPAL,
        annual_rate=ANNUAL_RATE,
        currency="USD",
        start_date=FIRST_START + timedelta(days=offset_days),
        installments=INSTALLMENTS,
    )


def numpy_financial_table() -> object:
    """Compute the payment, interest and principal columns of the annuity with numpy-financial."""
    periods = np.arange(1, INSTALLMENTS + 1)
    rate = float(ANNUAL_RATE) / 1200
    payment = npf.pmt(rate, INSTALLMENTS, float(PRINCIPAL))
    interest = npf.ipmt(rate, periods, INSTALLMENTS, float(PRINCIPAL))
    principal = npf.ppmt(rate, periods, INSTALLMENTS, float(PRINCIPAL))
    return payment, interest, principal


def median_ms(run: Callable[[int], object], repeat: int) -> float:
    """Call ``run(i)`` for i in 0..repeat-1 after one warm-up call and return the median in milliseconds."""
    run(repeat)
    timings: list[float] = []
    for index in range(repeat):
        started = time.perf_counter()
        run(index)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Time a 30-year monthly schedule and a 360-repayment loan state against numpy-financial."
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=50,
        metavar="N",
        help="number of timed runs per measurement; the median is reported (default: 50)",
    )
    arguments = parser.parse_args()
    if arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    repeat: int = arguments.repeat

    # Repayments for every start offset are prepared outside the timed region.
    cached_terms = make_terms(0)
    histories: dict[int, tuple[LoanTerms, list[Repayment]]] = {}
    for offset in range(repeat + 1):
        rows = build_schedule(make_terms(offset)).rows
        repayments = [Repayment(f"r{row.number:03d}", row.payment, row.due_date) for row in rows]
        # Fresh terms, so the timed state also computes its due dates.
        histories[offset] = (make_terms(offset), repayments)
    last_due = max(history[1][-1].paid_on for history in histories.values())

    baseline = median_ms(lambda _: numpy_financial_table(), repeat)
    measurements = [
        ("numpy-financial pmt + ipmt + ppmt (floats)", baseline),
        ("build_schedule, new LoanTerms each run", median_ms(lambda index: build_schedule(make_terms(index)), repeat)),
        ("build_schedule, due dates cached", median_ms(lambda _: build_schedule(cached_terms), repeat)),
        (
            "loan_state with 360 repayments",
            median_ms(lambda index: loan_state(histories[index][0], histories[index][1], last_due), repeat),
        ),
    ]

    print(f"Python {platform.python_version()} on {platform.machine()}, median of {repeat} runs")
    print()
    print("| measurement | median (ms) | ratio to numpy-financial |")
    print("| --- | ---: | ---: |")
    for name, milliseconds in measurements:
        print(f"| {name} | {milliseconds:.3f} | {milliseconds / baseline:.1f}x |")


if __name__ == "__main__":
    main()
