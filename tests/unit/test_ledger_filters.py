"""Dashboard option parsing of the ledger."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from loansyncro.errors import ValidationFailed
from services.ledger.queries import check_time_zone, parse_dashboard_filter


def test_defaults():
    options = parse_dashboard_filter({})
    assert options.status == "all"
    assert options.upcoming_days == 30
    assert options.loan_ids is None


def test_loan_ids_and_frame():
    first, second = uuid.uuid4(), uuid.uuid4()
    options = parse_dashboard_filter({"loan_ids": f"{first}, {second}", "from": "2024-01-01", "to": "2024-12-31", "upcoming_days": "90"})
    assert options.loan_ids == {first, second}
    assert options.frame_from == dt.date(2024, 1, 1)
    assert options.upcoming_days == 90


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "late"}, "status"),
        ({"loan_ids": "not-a-uuid"}, "loan_ids"),
        ({"upcoming_days": "0"}, "upcoming_days"),
        ({"upcoming_days": "soon"}, "upcoming_days"),
        ({"from": "2024-02-30"}, "from"),
        ({"from": "2024-03-01", "to": "2024-02-01"}, "to"),
        ({"upcoming_from": "2024-03-01"}, "upcoming_to"),
    ],
)
def test_invalid_option_names_field(query, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_dashboard_filter(query)
    assert caught.value.field == field


def test_unknown_time_zone_is_rejected():
    with pytest.raises(ValidationFailed) as caught:
        check_time_zone("Mars/Olympus")
    assert caught.value.field == "time_zone"
    assert check_time_zone(None) == "UTC"
