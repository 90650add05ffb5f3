"""A loan's repayments stream as every service reads it.

The repayments service writes the stream ("repayments-<loan id>"); the
ledger folds it with the same code. Pure code: no I/O and no clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from loansyncro.eventstore import RecordedEvent
from loansyncro.money import format_amount
from loansyncro.schedule import Repayment


def stream_id_of(loan_id: uuid.UUID | str) -> str:
    return f"repayments-{loan_id}"


@dataclass(frozen=True)
class LoggedRepayment:
    data: Mapping[str, Any]
    version: int
    logged_at: dt.datetime
    reversed: bool = False
    reversal_reason: str | None = None

    @property
    def repayment_id(self) -> uuid.UUID:
        return self.data["repayment_id"]  # type: ignore[no-any-return]

    def as_schedule_input(self) -> Repayment:
        data = self.data
        return Repayment(id=str(data["repayment_id"]), amount=data["amount"], paid_on=data["paid_on"], extra_mode=data["extra_mode"])

    def to_json(self) -> dict[str, Any]:
        return repayment_json(self.data, self.logged_at, self.reversed, self.reversal_reason)


def repayment_json(
    data: Mapping[str, Any], logged_at: dt.datetime, reversed_: bool, reversal_reason: str | None
) -> dict[str, Any]:
    """Return a repayment as the API shows it, from its RepaymentLogged data or a read-model row."""
    return {
        "id": str(data["repayment_id"]),
        "loan_id": str(data["loan_id"]),
        "amount": format_amount(data["amount"]),
        "currency": data["currency"],
        "paid_on": data["paid_on"].isoformat(),
        "method": data["method"],
        "reference": data.get("reference"),
        "note": data.get("note"),
        "extra_mode": data["extra_mode"],
        "reversed": reversed_,
        "reversal_reason": reversal_reason,
        "logged_at": logged_at.isoformat(),
    }


@dataclass(frozen=True)
class RepaymentLog:
    """A loan's repayments stream folded: every logged repayment by id, and the stream version."""

    repayments: Mapping[uuid.UUID, LoggedRepayment]
    version: int

    def active(self) -> list[LoggedRepayment]:
        return [repayment for repayment in self.repayments.values() if not repayment.reversed]


def fold_repayments(events: Iterable[RecordedEvent]) -> RepaymentLog:
    repayments: dict[uuid.UUID, LoggedRepayment] = {}
    version = 0
    for event in events:
        version = event.version
        data = event.data
        if event.event_type == "RepaymentLogged":
            repayments[data["repayment_id"]] = LoggedRepayment(data, event.version, event.recorded_at)
        elif event.event_type == "RepaymentReversed" and data["repayment_id"] in repayments:
            repayments[data["repayment_id"]] = replace(
                repayments[data["repayment_id"]], reversed=True, reversal_reason=data.get("reason")
            )
    return RepaymentLog(repayments, version)
