"""A small HTTP client for the end-to-end tests, named after what a user does."""

from __future__ import annotations

import uuid
from typing import Any

import requests


class ApiError(AssertionError):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"{response.request.method} {response.url} -> {response.status_code}: {response.text[:500]}")
        self.response = response


class ApiClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        self.access_token: str | None = None
        self.user_id: str | None = None

    # Plumbing -------------------------------------------------------------------

    def request(self, method: str, path: str, expected: int | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.access_token:
            headers.setdefault("Authorization", f"Bearer {self.access_token}")
        response = self.session.request(method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs)
        if expected is not None and response.status_code != expected:
            raise ApiError(response)
        return response

    def _post(self, path: str, body: dict[str, Any], expected: int, key: str | None = None) -> Any:
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return self.request("POST", path, expected, json=body, headers=headers).json()

    # Accounts -------------------------------------------------------------------

    def register(self, email: str, password: str, **profile: Any) -> dict[str, Any]:
        return self._post("/api/v1/accounts", {"email": email, "password": password, **profile}, 201)

    def sign_in(self, email: str, password: str) -> dict[str, Any]:
        tokens = self._post("/api/v1/sessions", {"email": email, "password": password}, 200)
        self.access_token = tokens["access_token"]
        self.user_id = str(tokens["user_id"])
        return tokens

    # Loans ----------------------------------------------------------------------

    def create_loan(self, **loan: Any) -> dict[str, Any]:
        return self._post("/api/v1/loans", loan, 201)

    def list_loans(self, **filters: Any) -> dict[str, Any]:
        return self.request("GET", "/api/v1/loans", 200, params=filters).json()

    def get_loan(self, loan_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/loans/{loan_id}", 200).json()

    def change_loan_details(self, loan_id: str, **details: Any) -> dict[str, Any]:
        return self.request("PATCH", f"/api/v1/loans/{loan_id}", 200, json=details).json()

    def change_loan_terms(self, loan_id: str, **change: Any) -> dict[str, Any]:
        return self._post(f"/api/v1/loans/{loan_id}/terms", change, 201)

    def close_loan(self, loan_id: str, **close: Any) -> dict[str, Any]:
        return self._post(f"/api/v1/loans/{loan_id}/close", close, 200)

    def delete_loan(self, loan_id: str) -> None:
        self.request("DELETE", f"/api/v1/loans/{loan_id}", 204)

    def schedule(self, loan_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/loans/{loan_id}/schedule", 200).json()

    def loan_history(self, loan_id: str, **query: Any) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/loans/{loan_id}/history", 200, params=query).json()

    # Repayments -----------------------------------------------------------------

    def log_repayment(self, loan_id: str, key: str | None = None, **repayment: Any) -> dict[str, Any]:
        return self._post(f"/api/v1/loans/{loan_id}/repayments", repayment, 201, key)

    def list_repayments(self, loan_id: str, **query: Any) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/loans/{loan_id}/repayments", 200, params=query).json()

    def reverse_repayment(self, loan_id: str, repayment_id: str, reason: str | None = None) -> dict[str, Any]:
        return self._post(f"/api/v1/loans/{loan_id}/repayments/{repayment_id}/reverse", {"reason": reason}, 200)

    # Dashboard ------------------------------------------------------------------

    def dashboard(self, **filters: Any) -> dict[str, Any]:
        return self.request("GET", "/api/v1/dashboard", 200, params=filters).json()

    # Accounts: tokens, profile, preferences, password, deletion -------------------

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        tokens = self._post("/api/v1/sessions/refresh", {"refresh_token": refresh_token}, 200)
        self.access_token = tokens["access_token"]
        return tokens

    def sign_out(self) -> None:
        self.request("DELETE", "/api/v1/sessions/current", 204)

    def profile(self) -> dict[str, Any]:
        return self.request("GET", "/api/v1/me/profile", 200).json()

    def update_profile(self, **changes: Any) -> dict[str, Any]:
        return self.request("PATCH", "/api/v1/me/profile", 200, json=changes).json()

    def reminder_preferences(self) -> dict[str, Any]:
        return self.request("GET", "/api/v1/me/reminder-preferences", 200).json()

    def change_reminder_preferences(self, **changes: Any) -> dict[str, Any]:
        return self.request("PATCH", "/api/v1/me/reminder-preferences", 200, json=changes).json()

    def change_password(self, current_password: str, new_password: str) -> None:
        body = {"current_password": current_password, "new_password": new_password}
        self.request("POST", "/api/v1/me/password", 204, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})

    def delete_account(self, password: str) -> None:
        self.request("DELETE", "/api/v1/me", 204, json={"password": password})

    # Exports ----------------------------------------------------------------------

    def download_export(self, file_name: str, expected: int | None = 200, **filters: Any) -> requests.Response:
        """Download /api/v1/exports/<file_name> (statement.pdf, loans.csv, schedule.csv, repayments.csv, history.json)."""
        return self.request("GET", f"/api/v1/exports/{file_name}", expected, params=filters)

    def download_statement_pdf(self, **filters: Any) -> bytes:
        return self.download_export("statement.pdf", **filters).content

    def download_repayments_csv(self, **filters: Any) -> bytes:
        return self.download_export("repayments.csv", **filters).content

    def download_history_json(self, **filters: Any) -> dict[str, Any]:
        return self.download_export("history.json", **filters).json()

    # Notifications ------------------------------------------------------------------

    def notifications(self, **page: Any) -> dict[str, Any]:
        return self.request("GET", "/api/v1/notifications", 200, params=page).json()

    def send_test_reminder(self, key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return self.request("POST", "/api/v1/notifications/test", 202, headers=headers).json()
