"""Due dates by frequency, end-date counts, first payment dates and the local date."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

from loansyncro.schedule import Frequency, LoanTerms, LoanValidationError, build_schedule, local_today


def due_dates(**overrides: object) -> list[date]:
    options: dict[str, object] = {
        "principal": Decimal("1000.00"),
        "annual_rate": Decimal("6"),
        "currency": "USD",
        "start_date": date(2025, 1, 1),
        "installments": 4,
    }
    options.update(overrides)
    terms = LoanTerms(**options)  # type: ignore[arg-type]
    return [row.due_date for row in build_schedule(terms).rows]


def test_weekly_due_dates_every_seven_days() -> None:
    assert due_dates(frequency=Frequency.WEEKLY) == [
        date(2025, 1, 8),
        date(2025, 1, 15),
        date(2025, 1, 22),
        date(2025, 1, 29),
    ]


def test_biweekly_due_dates_every_fourteen_days() -> None:
    assert due_dates(frequency=Frequency.BIWEEKLY) == [
        date(2025, 1, 15),
        date(2025, 1, 29),
        date(2025, 2, 12),
        date(2025, 2, 26),
    ]


def test_semi_monthly_uses_first_and_fifteenth() -> None:
    assert due_dates(frequency=Frequency.SEMI_MONTHLY) == [
        date(2025, 1, 15),
        date(2025, 2, 1),
        date(2025, 2, 15),
        date(2025, 3, 1),
    ]


def test_semi_monthly_day_31_means_month_end() -> None:
    dates = due_dates(frequency=Frequency.SEMI_MONTHLY, semi_monthly_days=(15, 31), start_date=date(2025, 1, 20))

    assert dates == [date(2025, 1, 31), date(2025, 2, 15), date(2025, 2, 28), date(2025, 3, 15)]


def test_semi_monthly_first_payment_on_a_due_day() -> None:
    dates = due_dates(
        frequency=Frequency.SEMI_MONTHLY,
        start_date=date(2025, 1, 10),
        first_payment_date=date(2025, 2, 1),
    )

    assert dates == [date(2025, 2, 1), date(2025, 2, 15), date(2025, 3, 1), date(2025, 3, 15)]


def test_quarterly_due_dates_keep_month_end() -> None:
    assert due_dates(frequency=Frequency.QUARTERLY, start_date=date(2024, 11, 30)) == [
        date(2025, 2, 28),
        date(2025, 5, 30),
        date(2025, 8, 30),
        date(2025, 11, 30),
    ]


def test_semi_annual_and_annual_from_leap_day() -> None:
    assert due_dates(frequency=Frequency.SEMI_ANNUAL, start_date=date(2024, 2, 29), installments=2) == [
        date(2024, 8, 29),
        date(2025, 2, 28),
    ]
    assert due_dates(frequency=Frequency.ANNUAL, start_date=date(2024, 2, 29), installments=4) == [
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_monthly_due_dates_match_relativedelta_from_anchor() -> None:
    anchor = date(2023, 1, 31)
    dates = due_dates(start_date=date(2022, 12, 31), first_payment_date=anchor, installments=36)

    assert dates == [anchor + relativedelta(months=offset) for offset in range(36)]


def test_month_end_never_chains_from_february() -> None:
    dates = due_dates(start_date=date(2021, 1, 31), installments=3)

    assert dates == [date(2021, 2, 28), date(2021, 3, 31), date(2021, 4, 30)]


def test_end_date_counts_due_dates_inclusive() -> None:
    dates = due_dates(installments=None, end_date=date(2026, 1, 1))

    assert len(dates) == 12
    assert dates[-1] == date(2026, 1, 1)


def test_end_date_between_due_dates_stops_before() -> None:
    dates = due_dates(installments=None, end_date=date(2025, 12, 31))

    assert len(dates) == 11
    assert dates[-1] == date(2025, 12, 1)


def test_end_date_with_first_payment_date() -> None:
    dates = due_dates(
        start_date=date(2025, 1, 15),
        first_payment_date=date(2025, 2, 1),
        installments=None,
        end_date=date(2026, 1, 1),
    )

    assert len(dates) == 12
    assert dates[0] == date(2025, 2, 1)


def test_end_date_far_beyond_limit_is_rejected() -> None:
    with pytest.raises(LoanValidationError, match=r"end_date 2190-01-01 gives more than 3000 installments"):
        due_dates(installments=None, end_date=date(2190, 1, 1), frequency=Frequency.WEEKLY)


def test_short_first_period_charges_its_days() -> None:
    terms = LoanTerms(
        principal=Decimal("3600.00"),
        annual_rate=Decimal("10"),
        currency="USD",
        start_date=date(2025, 1, 15),
        first_payment_date=date(2025, 2, 1),
        installments=6,
    )
    rows = build_schedule(terms).rows

    # 30E/360 counts 16 days from January 15 to February 1: 3600 * 10% * 16 / 360.
    assert rows[0].interest == Decimal("16.00")
    assert rows[1].interest == (rows[0].balance * Decimal("10") / 1200).quantize(Decimal("0.01"), "ROUND_HALF_UP")


def test_first_payment_date_becomes_anchor() -> None:
    terms = LoanTerms(
        principal=Decimal("1000.00"),
        annual_rate=Decimal("12"),
        currency="USD",
        start_date=date(2025, 1, 31),
        first_payment_date=date(2025, 2, 28),
        installments=3,
    )
    rows = build_schedule(terms).rows

    assert [row.due_date for row in rows] == [date(2025, 2, 28), date(2025, 3, 28), date(2025, 4, 28)]
    # One calendar month after the start is a regular period: exactly 12% / 12.
    assert rows[0].interest == Decimal("10.00")


def test_local_today_needs_aware_time() -> None:
    with pytest.raises(LoanValidationError, match=r"now_utc 2025-01-16T01:30:00 has no time zone") as caught:
        local_today("Europe/Paris", datetime(2025, 1, 16, 1, 30))
    assert caught.value.field == "now_utc"


def test_local_today_rejects_unknown_zone() -> None:
    with pytest.raises(LoanValidationError, match=r"time_zone 'Mars/Olympus' is not a known IANA time zone") as caught:
        local_today("Mars/Olympus", datetime(2025, 1, 16, 1, 30, tzinfo=timezone.utc))
    assert caught.value.field == "time_zone"
