"""An event contract used only by the tests of the event store, relay and consumers."""

from __future__ import annotations

import marshmallow
from marshmallow import fields

from loansyncro.events import contract


def _upcast_note_v1(data: dict) -> dict:
    # Version 1 had no currency; every amount then was in euros.
    return {**data, "currency": "EUR"}


@contract("TestAmountNoted", version=2, upcasters={1: _upcast_note_v1})
class TestAmountNoted(marshmallow.Schema):
    amount = fields.Decimal(required=True, as_string=True)
    currency = fields.String(required=True)
    noted_on = fields.Date(required=True)
    sequence = fields.Integer(load_default=0)
