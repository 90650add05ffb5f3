"""Senders: email over SMTP, SMS over the Twilio Messages API, and the console fallback.

Every sender takes the address, the rendered message and the notification id,
and returns the provider's message id, or raises `DeliveryFailed` saying
whether trying again could help. The console sender is used for a channel
whose provider is not configured, so `make run` works without credentials.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from typing import Final, Protocol

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from loansyncro.config import Settings
from services.notifier.domain import EMAIL, SMS
from services.notifier.render import RenderedMessage

log = logging.getLogger(__name__)

# SMTP replies that reject the recipient address itself: retrying cannot help.
PERMANENT_SMTP_CODES: Final = frozenset({501, 550, 551, 553})
# Twilio error codes about the destination number (invalid, not a mobile, opted out, region blocked).
PERMANENT_TWILIO_CODES: Final = frozenset({21211, 21408, 21610, 21612, 21614})

# The Twilio HTTP client logs each request with its form fields (the phone number and
# the body) at INFO; keep those out of the service logs.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


class DeliveryFailed(Exception):
    """A send failed; `permanent` is True when the same request would fail again."""

    def __init__(self, code: str, detail: str, permanent: bool) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.permanent = permanent


class Sender(Protocol):
    provider: str

    def send(self, address: str, message: RenderedMessage, notification_id: uuid.UUID) -> str: ...


class SmtpSender:
    provider = "smtp"

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.sender = settings.smtp_sender
        self.timeout = settings.smtp_timeout_seconds

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            connection.starttls(context=ssl.create_default_context())
        return connection

    def send(self, address: str, message: RenderedMessage, notification_id: uuid.UUID) -> str:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = address
        email["Subject"] = message.subject
        # A Message-ID derived from the notification id: a copy sent again after an
        # uncertain attempt carries the same id, so mail clients can show it once.
        message_id = f"<{notification_id}@loansyncro.invalid>"
        email["Message-ID"] = message_id
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        try:
            with self._connect() as connection:
                if self.username and self.password:
                    connection.login(self.username, self.password)
                connection.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise DeliveryFailed(f"smtp-{code}", _reply_text(reply), code in PERMANENT_SMTP_CODES) from error
        except smtplib.SMTPResponseException as error:
            code = error.smtp_code
            raise DeliveryFailed(f"smtp-{code}", _reply_text(error.smtp_error), code in PERMANENT_SMTP_CODES) from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed("smtp-unavailable", f"SMTP server {self.host}:{self.port} failed: {error!r}", False) from error
        return message_id


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class TwilioSender:
    provider = "twilio"

    def __init__(self, settings: Settings, timeout_seconds: float = 10.0) -> None:
        assert settings.twilio_account_sid is not None
        assert settings.twilio_auth_token is not None
        assert settings.twilio_from_number is not None
        self.from_number = settings.twilio_from_number
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=TwilioHttpClient(timeout=timeout_seconds),
        )
        # twilio 9.x builds request URLs from the API domain's base_url (default https://api.twilio.com).
        self.client.api.base_url = settings.twilio_base_url.rstrip("/")

    def send(self, address: str, message: RenderedMessage, notification_id: uuid.UUID) -> str:
        try:
            created = self.client.messages.create(to=address, from_=self.from_number, body=message.sms)
        except TwilioRestException as error:
            code = error.code
            permanent = code in PERMANENT_TWILIO_CODES
            raise DeliveryFailed(f"twilio-{code or error.status}", f"HTTP {error.status}: {error.msg}", permanent) from error
        except (TwilioException, requests.RequestException) as error:
            raise DeliveryFailed("twilio-unavailable", f"Twilio API request failed: {error!r}", False) from error
        return str(created.sid)


class ConsoleSender:
    """Writes the message to the log instead of sending it; the address is never logged."""

    provider = "console"

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, address: str, message: RenderedMessage, notification_id: uuid.UUID) -> str:
        body = message.sms if self.channel == SMS else message.text
        log.info(
            "reminder written to the console",
            extra={"notification_id": str(notification_id), "channel": self.channel, "subject": message.subject, "body": body},
        )
        return f"console-{notification_id}"


def build_senders(settings: Settings) -> dict[str, Sender]:
    """Return a sender per channel: the configured provider, or the console when it has no settings."""
    email: Sender = SmtpSender(settings) if settings.smtp_host else ConsoleSender(EMAIL)
    sms: Sender = TwilioSender(settings) if settings.twilio_account_sid else ConsoleSender(SMS)
    return {EMAIL: email, SMS: sms}
