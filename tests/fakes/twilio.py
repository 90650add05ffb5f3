"""A local stand-in for Twilio's Messages API, served by `http.server` in a thread on loopback.

It implements what the notifier uses, as Twilio documents it:
POST /2010-04-01/Accounts/{AccountSid}/Messages.json with the form fields
To, From and Body and HTTP basic auth (account SID and auth token) returns
201 with a JSON message resource (`sid` "SM" + 32 hex digits, `status`
"queued"). A To number that is not E.164 gets 400 with error code 21211,
as Twilio does. `fail_next(status, count)` injects 429 or 5xx answers.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs

E164: Final = re.compile(r"^\+[1-9]\d{6,14}$")
PATH: Final = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")


@dataclass
class SentSms:
    sid: str
    to: str
    from_: str
    body: str


@dataclass
class _State:
    account_sid: str
    auth_token: str
    messages: list[SentSms] = field(default_factory=list)
    injected: list[int] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler_for(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, status: int, code: int | None, message: str) -> None:
            self._reply(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})

        def do_POST(self) -> None:
            match = PATH.match(self.path)
            if match is None:
                self._error(404, 20404, "The requested resource was not found")
                return
            expected = base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}" or match["sid"] != state.account_sid:
                self._error(401, 20003, "Authenticate")
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            with state.lock:
                state.requests += 1
                if state.injected:
                    status = state.injected.pop(0)
                    self._error(status, 20429 if status == 429 else None, "injected failure")
                    return
                to = form.get("To", "")
                if not E164.match(to):
                    self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
                    return
                if not form.get("Body"):
                    self._error(400, 21602, "Message body is required.")
                    return
                sid = "SM" + uuid.uuid4().hex
                state.messages.append(SentSms(sid, to, form.get("From", ""), form["Body"]))
            self._reply(
                201,
                {
                    "sid": sid,
                    "account_sid": state.account_sid,
                    "to": to,
                    "from": form.get("From"),
                    "body": form["Body"],
                    "status": "queued",
                    "num_segments": "1",
                    "direction": "outbound-api",
                    "api_version": "2010-04-01",
                    "uri": f"/2010-04-01/Accounts/{state.account_sid}/Messages/{sid}.json",
                },
            )

    return Handler


class FakeTwilioServer:
    def __init__(self) -> None:
        self.account_sid = "AC" + uuid.uuid4().hex
        self.auth_token = uuid.uuid4().hex
        self.from_number = "+15005550006"
        self.state = _State(self.account_sid, self.auth_token)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self.state))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def messages(self) -> list[SentSms]:
        return self.state.messages

    @property
    def env(self) -> dict[str, str]:
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM_NUMBER": self.from_number,
            "TWILIO_BASE_URL": self.base_url,
        }

    def start(self) -> FakeTwilioServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, count: int = 1) -> None:
        with self.state.lock:
            self.state.injected.extend([status] * count)

    def reset(self) -> None:
        with self.state.lock:
            self.state.messages.clear()
            self.state.injected.clear()
            self.state.requests = 0
