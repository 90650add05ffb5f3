from __future__ import annotations

from datetime import date
from decimal import Decimal

import marshmallow
import pytest
from marshmallow import fields

from loansyncro.events import contract

pytestmark = pytest.mark.integration


def _upcast_note_v1(data: dict) -> dict:
    # Version 1 had no currency; every amount then was in euros.
    return {**data, "currency": "EUR"}


@contract("TestAmountNoted", version=2, upcasters={1: _upcast_note_v1})
class TestAmountNoted(marshmallow.Schema):
    amount = fields.Decimal(required=True, as_string=True)
    currency = fields.String(required=True)
    noted_on = fields.Date(required=True)
    sequence = fields.Integer(load_default=0)


def amount_noted(amount: str = "10.00", sequence: int = 0) -> dict:
    return {"amount": Decimal(amount), "currency": "EUR", "noted_on": date(2025, 1, 31), "sequence": sequence}
