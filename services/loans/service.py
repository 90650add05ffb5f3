"""nameko entrypoints of the loans service; the work happens in `commands`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


from loansyncro.service_kit import Database, rpc
from services.loans.commands import LoanCommands


class LoansService:
    name = "loans"

    db = Database()

    def _commands(self) -> LoanCommands:
        return LoanCommands(self.db.store)

    @rpc
    def create_loan(self, user_id: str, payload: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        return self._commands().create_loan(user_id, payload, idempotency_key)

    @rpc
    def get_loan(self, user_id: str, loan_id: str) -> dict[str, Any]:
        return self._commands().get_loan(user_id, loan_id)

    @rpc
    def list_loans(self, user_id: str, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._commands().list_loans(user_id, query)

    @rpc
    def change_details(self, user_id: str, loan_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self._commands().change_details(user_id, loan_id, payload)

    @rpc
    def change_terms(
        self, user_id: str, loan_id: str, payload: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return self._commands().change_terms(user_id, loan_id, payload, idempotency_key)

    @rpc
    def close_loan(
        self, user_id: str, loan_id: str, payload: Mapping[str, Any] | None = None, time_zone: str | None = None
    ) -> dict[str, Any]:
        return self._commands().close_loan(user_id, loan_id, payload, time_zone)

    @rpc
    def delete_loan(self, user_id: str, loan_id: str) -> dict[str, Any]:
        return self._commands().delete_loan(user_id, loan_id)
