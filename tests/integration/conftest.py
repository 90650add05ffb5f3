from __future__ import annotations

from datetime import date
from decimal import Decimal


from tests.integration.probe_contracts import TestAmountNoted  # noqa: F401  (registers the contract)



def amount_noted(amount: str = "10.00", sequence: int = 0) -> dict:
    return {"amount": Decimal(amount), "currency": "EUR", "noted_on": date(2025, 1, 31), "sequence": sequence}
