"""Repayment commands and queries behind the RPC entrypoints; testable without nameko."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from loansyncro.command_input import derived_id, parse_user_id, today_in
from loansyncro.errors import NotFound, ValidationFailed
from loansyncro.eventstore import EventStore, NewEvent
from loansyncro.loan_stream import LoanRecord, check_owned, parse_loan_id
from loansyncro.repayment_stream import LoggedRepayment, RepaymentLog
from services.repayments import domain
from services.repayments.store import RepaymentRepository

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 200


class RepaymentCommands:
    def __init__(self, store: EventStore) -> None:
        self.repayments = RepaymentRepository(store)

    def log_repayment(
        self,
        user_id: object,
        loan_id: object,
        payload: Mapping[str, Any],
        idempotency_key: str | None = None,
        time_zone: str | None = None,
    ) -> dict[str, Any]:
        """Validate and record a repayment; a retry with the same Idempotency-Key returns the first result."""
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)
        event_id = derived_id(owner, "repayment", idempotency_key)
        repayment_id = derived_id(owner, "repayment-id", idempotency_key)

        # A retried request must not be checked again: after the first one the
        # payoff is lower, and a full payoff would now be rejected.
        stored = self.repayments.stored_event(event_id) if idempotency_key else None
        if stored is not None:
            if stored.data["owner_id"] != owner or stored.data["loan_id"] != loan:
                raise ValidationFailed(
                    "Idempotency-Key", idempotency_key, "this Idempotency-Key was already used for another request; send a new key"
                )
            return self._result(stored.data, stored.version, stored.recorded_at, stored.stream_id)

        today = today_in(time_zone)

        def decide(record: LoanRecord | None, repayments: RepaymentLog) -> list[NewEvent]:
            checked = domain.check_loan_accepts_repayments(record, owner, loan)
            data = domain.decide_log(checked, repayments, payload, repayment_id, today)
            return [NewEvent("RepaymentLogged", data, event_id=event_id, metadata={"actor": str(owner)})]

        try:
            recorded = self.repayments.change(loan, decide)
        except ValidationFailed as error:
            log.warning(
                "repayment rejected",
                extra={"loan_id": str(loan), "user_id": str(owner), "field": error.field, "error": error.detail},
            )
            raise
        event = recorded[0]
        log.info(
            "repayment logged",
            extra={"loan_id": str(loan), "repayment_id": str(event.data["repayment_id"]), "version": event.version},
        )
        return self._result(event.data, event.version, event.recorded_at, event.stream_id)

    @staticmethod
    def _result(data: Mapping[str, Any], version: int, recorded_at: Any, stream_id: str) -> dict[str, Any]:
        body = LoggedRepayment(data, version, recorded_at).to_json()
        # The gateway passes the written position to the ledger so the next read reflects it.
        body["stream_id"] = stream_id
        body["version"] = version
        return body

    def reverse_repayment(
        self, user_id: object, loan_id: object, repayment_id: object, reason: object = None
    ) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)

        def decide(record: LoanRecord | None, repayments: RepaymentLog) -> list[NewEvent]:
            checked = check_owned(record, owner, loan)
            data = domain.decide_reverse(repayments, checked, repayment_id, reason)
            return [NewEvent("RepaymentReversed", data, metadata={"actor": str(owner)})]

        event = self.repayments.change(loan, decide)[0]
        log.info("repayment reversed", extra={"loan_id": str(loan), "repayment_id": str(event.data["repayment_id"])})
        _, repayments = self.repayments.load(loan)
        body = repayments.repayments[event.data["repayment_id"]].to_json()
        body["stream_id"] = event.stream_id
        body["version"] = event.version
        return body

    def get_repayment(self, user_id: object, loan_id: object, repayment_id: object) -> dict[str, Any]:
        """Return one repayment of the user's loan, reversed or not; NotFound for anything else."""
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)
        record, repayments = self.repayments.load(loan)
        check_owned(record, owner, loan)
        try:
            repayment = repayments.repayments[uuid.UUID(str(repayment_id))]
        except (ValueError, KeyError):
            raise NotFound("repayment", str(repayment_id)) from None
        return repayment.to_json()

    def list_repayments(self, user_id: object, loan_id: object, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return one page of a loan's repayments, newest payment date first."""
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)
        record, _ = self.repayments.load(loan)
        if record is None or record.owner_id != owner or record.status == "deleted":
            raise NotFound("loan", str(loan))
        query = query or {}
        limit = _int_option(query, "limit", 50, 1, MAX_PAGE_SIZE)
        offset = _int_option(query, "offset", 0, 0, 10**9)
        include_reversed = str(query.get("include_reversed", "true")).lower() in ("true", "1", "yes")
        items, total = self.repayments.list(loan, limit, offset, include_reversed)
        return {"items": items, "total": total, "limit": limit, "offset": offset}


def _int_option(query: Mapping[str, Any], key: str, default: int, minimum: int, maximum: int) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(key, raw, f"{key} {raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ValidationFailed(key, raw, f"{key} {raw} is out of range; pass {minimum} to {maximum}")
    return value



