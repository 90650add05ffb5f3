"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

`rejected_addresses` get "550 mailbox unavailable" at RCPT TO;
`fail_next(count)` replies to the next DATA commands with "451 try again later".
Stop and start it again to simulate an outage (the port stays the same).
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceivedEmail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


@dataclass
class _Handler:
    received: list[ReceivedEmail] = field(default_factory=list)
    rejected_addresses: set[str] = field(default_factory=set)
    failures_left: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.rejected_addresses:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return "451 4.3.0 try again later"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.received.append(ReceivedEmail(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted"


class FakeSmtpServer:
    """The server; with `tls_context` it offers STARTTLS (or speaks TLS from the start with `implicit_tls`).

    With `credentials` (user name, password) it requires AUTH, and only after TLS.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.handler = _Handler()
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.credentials = credentials
        self.authenticated: list[str] = []
        self._controller: Controller | None = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else ""
        password = auth_data.password.decode() if isinstance(auth_data, LoginPassword) else ""
        if self.credentials is not None and (login, password) == self.credentials:
            self.authenticated.append(login)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    @property
    def received(self) -> list[ReceivedEmail]:
        return self.handler.received

    def start(self) -> FakeSmtpServer:
        options: dict[str, Any] = {}
        if self.credentials is not None:
            # aiosmtpd counts only STARTTLS as TLS for AUTH, so implicit TLS has to allow AUTH outright.
            options.update(authenticator=self._authenticate, auth_require_tls=not self.implicit_tls)
        if self.tls_context is not None and self.implicit_tls:
            options["ssl_context"] = self.tls_context
        elif self.tls_context is not None:
            options.update(tls_context=self.tls_context, require_starttls=True)
        self._controller = Controller(self.handler, hostname=self.host, port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def reject(self, address: str) -> None:
        self.handler.rejected_addresses.add(address)

    def fail_next(self, count: int) -> None:
        self.handler.failures_left = count

    def reset(self) -> None:
        with self.handler.lock:
            self.handler.received.clear()
            self.handler.rejected_addresses.clear()
            self.handler.failures_left = 0
