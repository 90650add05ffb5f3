"""Loan commands and queries behind the RPC entrypoints; testable without nameko."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from loansyncro.command_input import derived_id, parse_user_id, today_in
from loansyncro.eventstore import EventStore, NewEvent
from loansyncro.loan_stream import LoanRecord, check_owned, parse_loan_id
from services.loans import domain
from services.loans.store import LoanRepository

log = logging.getLogger(__name__)


class LoanCommands:
    def __init__(self, store: EventStore) -> None:
        self.loans = LoanRepository(store)

    def create_loan(self, user_id: object, payload: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        loan_id = derived_id(owner, "loan", idempotency_key)
        event_id = derived_id(owner, "loan-created", idempotency_key)
        data = domain.decide_create(owner, loan_id, payload)
        record = self.loans.create(loan_id, data, event_id, {"actor": str(owner)})
        log.info("loan created", extra={"loan_id": str(record.loan_id), "user_id": str(owner)})
        return record.to_json()

    def get_loan(self, user_id: object, loan_id: object) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)
        return check_owned(self.loans.load(loan), owner, loan).to_json()

    def list_loans(self, user_id: object, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        options = domain.parse_filter(query or {})
        items, total = self.loans.list(owner, options)
        return {"items": items, "total": total, "limit": options.limit, "offset": options.offset}

    def change_details(self, user_id: object, loan_id: object, payload: Mapping[str, Any]) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)

        def decide(record: LoanRecord | None) -> list[NewEvent]:
            data = domain.decide_change_details(check_owned(record, owner, loan), payload)
            return [] if data is None else [NewEvent("LoanDetailsChanged", data, metadata={"actor": str(owner)})]

        record = self.loans.change(loan, decide)
        assert record is not None
        return record.to_json()

    def change_terms(
        self, user_id: object, loan_id: object, payload: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)
        event_id = derived_id(owner, f"terms-{loan}", idempotency_key)

        def decide(record: LoanRecord | None) -> list[NewEvent]:
            data = domain.decide_change_terms(check_owned(record, owner, loan), payload)
            return [NewEvent("LoanTermsChanged", data, event_id=event_id, metadata={"actor": str(owner)})]

        record = self.loans.change(loan, decide)
        assert record is not None
        log.info("loan terms changed", extra={"loan_id": str(loan), "user_id": str(owner)})
        return record.to_json()

    def close_loan(
        self, user_id: object, loan_id: object, payload: Mapping[str, Any] | None = None, time_zone: str | None = None
    ) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)
        today = today_in(time_zone)

        def decide(record: LoanRecord | None) -> list[NewEvent]:
            data = domain.decide_close(check_owned(record, owner, loan), payload or {}, today)
            return [NewEvent("LoanClosed", data, metadata={"actor": str(owner)})]

        record = self.loans.change(loan, decide)
        assert record is not None
        log.info("loan closed", extra={"loan_id": str(loan), "user_id": str(owner)})
        return record.to_json()

    def delete_loan(self, user_id: object, loan_id: object) -> dict[str, Any]:
        owner = parse_user_id(user_id)
        loan = parse_loan_id(loan_id)

        def decide(record: LoanRecord | None) -> list[NewEvent]:
            checked = check_owned(record, owner, loan)
            data = {"loan_id": checked.loan_id, "owner_id": checked.owner_id}
            return [NewEvent("LoanDeleted", data, metadata={"actor": str(owner)})]

        record = self.loans.change(loan, decide)
        assert record is not None
        log.info("loan deleted", extra={"loan_id": str(loan), "user_id": str(owner)})
        return {"id": str(loan), "stream_id": record.stream_id, "version": record.version}
