"""Render reminders from the Jinja2 templates, with amounts and dates in the user's locale (Babel)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import babel
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"
# Twilio splits longer bodies into several billed segments; 160 GSM-7 characters fit in one.
MAX_SMS_CHARACTERS: Final = 160
CHANNEL_LABELS: Final = {"email": "email", "sms": "text message"}

_environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    sms: str


def _locale(name: str | None) -> babel.Locale:
    try:
        return babel.Locale.parse(name or "en", sep="_" if "_" in (name or "") else "-")
    except (ValueError, babel.UnknownLocaleError):
        return babel.Locale.parse("en")


def _subject(kind: str, values: dict[str, Any]) -> str:
    if kind == "due_soon":
        when = "today" if values["days_before"] == 0 else f"on {values['due_date']}"
        return f"Payment of {values['amount']} for {values['loan_name']} due {when}"
    if kind == "overdue":
        return f"Overdue: {values['amount']} for {values['loan_name']}"
    if kind == "channel_failure":
        return f"We could not reach you by {values['failed_channel_label']}"
    return "LoanSyncro test reminder"


def render(content: dict[str, Any], locale_name: str | None, display_name: str | None = None) -> RenderedMessage:
    """Render one message from `content`: the kind, loan name, amount, currency and due date as JSON values."""
    locale = _locale(locale_name)
    values: dict[str, Any] = {
        "kind": content["kind"],
        "display_name": display_name,
        "language": locale.language,
        "loan_name": content.get("loan_name"),
        "days_before": content.get("days_before"),
        "days_past_due": content.get("days_past_due"),
        "failed_channel_label": CHANNEL_LABELS.get(content.get("failed_channel") or "", ""),
        "amount": None,
        "due_date": None,
        "due_date_short": None,
    }
    if content.get("amount") is not None:
        values["amount"] = format_currency(Decimal(content["amount"]), content["currency"], locale=locale)
    if content.get("due_date") is not None:
        due = dt.date.fromisoformat(content["due_date"])
        values["due_date"] = format_date(due, format="long", locale=locale)
        values["due_date_short"] = format_date(due, format="short", locale=locale)

    sms = _environment.get_template("sms.txt.j2").render(values).strip()
    if len(sms) > MAX_SMS_CHARACTERS:
        sms = sms[: MAX_SMS_CHARACTERS - 1] + "…"
    return RenderedMessage(
        subject=_subject(content["kind"], values),
        text=_environment.get_template("email.txt.j2").render(values).strip() + "\n",
        html=_environment.get_template("email.html.j2").render(values),
        sms=sms,
    )
