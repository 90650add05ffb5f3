"""nameko entrypoints of the repayments service; the work happens in `commands`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


from loansyncro.service_kit import Database, rpc
from services.repayments.commands import RepaymentCommands


class RepaymentsService:
    name = "repayments"

    db = Database()

    def _commands(self) -> RepaymentCommands:
        return RepaymentCommands(self.db.store)

    @rpc
    def log_repayment(
        self,
        user_id: str,
        loan_id: str,
        payload: Mapping[str, Any],
        idempotency_key: str | None = None,
        time_zone: str | None = None,
    ) -> dict[str, Any]:
        return self._commands().log_repayment(user_id, loan_id, payload, idempotency_key, time_zone)

    @rpc
    def reverse_repayment(self, user_id: str, loan_id: str, repayment_id: str, reason: str | None = None) -> dict[str, Any]:
        return self._commands().reverse_repayment(user_id, loan_id, repayment_id, reason)

    @rpc
    def get_repayment(self, user_id: str, loan_id: str, repayment_id: str) -> dict[str, Any]:
        return self._commands().get_repayment(user_id, loan_id, repayment_id)

    @rpc
    def list_repayments(self, user_id: str, loan_id: str, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._commands().list_repayments(user_id, loan_id, query)
