"""The notifier's workflow: receive occasions, plan messages, claim, send and log them.

1. The follower "notifier" stores each InstallmentDueSoon or InstallmentOverdue
   as an occasion row, in the same transaction as its tracking row.
2. `plan_due` reads the user's contact data and preferences from accounts and
   queues one notification per chosen channel, unique per (occasion, channel,
   purpose), due at the first allowed local time (see domain.plan_send_at).
3. `send_due` claims a due notification with FOR UPDATE SKIP LOCKED and
   checks with the ledger that the installment is still unpaid. It counts an
   SMS against the daily caps under the counter rows' lock, marks the row
   "sending" and commits. Then it sends, and records the outcome in a second
   transaction.

A notifier that dies after the provider accepted a message but before the
outcome was recorded leaves the row "sending". Neither SMTP nor Twilio's
Messages API accepts an idempotency key, so after the lease the two channels
part ways:
- email is sent again (at least once): both copies carry the same Message-ID,
  derived from the notification id, which mail clients use to drop duplicates;
- SMS is not sent again (at most once): `reclaim_interrupted` marks the row
  failed with error_code "interrupted", because nothing would stop a second,
  paid SMS.
The delivery log shows the interrupted attempt either way.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from loansyncro.config import Settings
from loansyncro.consumer import Follower
from loansyncro.errors import NotFound, ValidationFailed
from loansyncro.eventstore import ANY_VERSION, ConcurrencyError, EventStore, NewEvent, RecordedEvent
from loansyncro.money import format_amount
from services.notifier import domain, tables
from services.notifier.channels import DeliveryFailed, Sender
from services.notifier.render import render

log = logging.getLogger(__name__)

CONSUMER: Final = "notifier"
OCCASION_KINDS: Final = {"InstallmentDueSoon": "due_soon", "InstallmentOverdue": "overdue"}
TEST_NAMESPACE: Final = uuid.UUID("a4e1f0c2-7b3d-5e69-8f10-2c3d4e5f6a7b")
MAX_PAGE_SIZE: Final = 100
INTERRUPTED: Final = "interrupted"
# Appends of ReminderSent tried per send; each retry follows another sender's append to the same stream.
SENT_EVENT_ATTEMPTS: Final = 5
# A user whose channel keeps failing is told on the other channel at most once in this interval.
CHANNEL_FAILURE_NOTICE_INTERVAL: Final = dt.timedelta(days=1)


class Directory(Protocol):
    """Contact data and preferences of a user (the accounts service's get_contact RPC)."""

    def get_contact(self, user_id: str) -> dict[str, Any]: ...


class Ledger(Protocol):
    def is_installment_outstanding(self, loan_id: str, installment_number: int, due_date: str) -> bool: ...


@dataclass(frozen=True)
class NotifierConfig:
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    lease_seconds: float = 300.0
    earliest_local_time: dt.time = dt.time(9, 0)
    latest_local_time: dt.time | None = dt.time(21, 0)
    sms_cap_per_recipient: int = 5
    sms_cap_global: int = 10_000
    batch_size: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifierConfig:
        return cls(
            max_attempts=settings.notification_max_attempts,
            retry_base_seconds=settings.notification_retry_base_seconds,
            lease_seconds=settings.notification_send_lease_seconds,
            earliest_local_time=domain.parse_local_time(settings.reminder_earliest_local_time),
            latest_local_time=domain.parse_local_time(settings.reminder_latest_local_time),
            sms_cap_per_recipient=settings.sms_daily_cap_per_recipient,
            sms_cap_global=settings.sms_daily_cap_global,
        )


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def occasion_content(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the JSON values a message about this occasion is rendered from."""
    amount = data["amount_due"] if event_type == "InstallmentDueSoon" else data["amount_overdue"]
    return {
        "kind": OCCASION_KINDS[event_type],
        "loan_id": str(data["loan_id"]),
        "loan_name": data["loan_name"],
        "installment_number": data["installment_number"],
        "due_date": data["due_date"].isoformat(),
        "amount": format_amount(amount),
        "currency": data["currency"],
        "days_before": data.get("days_before"),
        "days_past_due": data.get("days_past_due"),
        "repeat": data.get("repeat"),
    }


def is_stale_occasion(content: Mapping[str, Any], recorded_at: dt.datetime, now: dt.datetime, zone: str) -> bool:
    try:
        return domain.is_stale(content["kind"], dt.date.fromisoformat(content["due_date"]), recorded_at, now, zone)
    except domain.InvalidTimeZone:
        return domain.is_stale(content["kind"], dt.date.fromisoformat(content["due_date"]), recorded_at, now, "UTC")


class Notifier:
    def __init__(
        self,
        engine: Engine,
        senders: Mapping[str, Sender],
        directory: Directory,
        ledger: Ledger,
        config: NotifierConfig = NotifierConfig(),
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.engine = engine
        self.store = EventStore(engine)
        self.senders = dict(senders)
        self.directory = directory
        self.ledger = ledger
        self.config = config
        self.clock = clock
        self.uniform = uniform
        self.follower = Follower(
            engine,
            CONSUMER,
            tables.tracking,
            {"InstallmentDueSoon": self.on_occasion, "InstallmentOverdue": self.on_occasion},
        )

    # 1. Occasions ---------------------------------------------------------------

    def on_occasion(self, conn: Connection, event: RecordedEvent) -> None:
        content = {**occasion_content(event.event_type, event.data), "recorded_at": event.recorded_at.isoformat()}
        conn.execute(
            pg_insert(tables.occasions)
            .values(
                event_id=event.event_id,
                owner_id=event.data["owner_id"],
                event_type=event.event_type,
                data=content,
                next_attempt_at=self.clock(),
            )
            .on_conflict_do_nothing()
        )

    # 2. Planning ----------------------------------------------------------------

    def plan_due(self) -> int:
        """Queue the notifications of occasions waiting to be planned; return how many occasions were planned."""
        occasions = tables.occasions
        planned = 0
        with self.engine.begin() as conn:
            now = self.clock()
            rows = conn.execute(
                sa.select(occasions)
                .where(occasions.c.status == "pending", occasions.c.next_attempt_at <= now)
                .order_by(occasions.c.next_attempt_at)
                .limit(self.config.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                if self._plan(conn, row, now):
                    planned += 1
        return planned

    def _plan(self, conn: Connection, row: Any, now: dt.datetime) -> bool:
        occasions = tables.occasions
        where = occasions.c.event_id == row.event_id
        try:
            contact = self.directory.get_contact(str(row.owner_id))
        except NotFound:
            conn.execute(sa.update(occasions).where(where).values(status="dropped", error="user not found or deleted"))
            log.info("occasion dropped: user not found", extra={"event_id": str(row.event_id), "owner_id": str(row.owner_id)})
            return False
        except Exception as error:  # accounts unreachable or timing out: plan again later
            attempts = row.attempts + 1
            retry_at = now + dt.timedelta(seconds=domain.retry_delay(attempts, self.config.retry_base_seconds, self.uniform))
            conn.execute(
                sa.update(occasions).where(where).values(attempts=attempts, next_attempt_at=retry_at, error=repr(error)[:500])
            )
            log.warning(
                "contact lookup failed; planning again later",
                extra={"event_id": str(row.event_id), "attempt": attempts, "retry_at": retry_at.isoformat(), "error": repr(error)},
            )
            return False

        recorded_at = dt.datetime.fromisoformat(row.data["recorded_at"])
        if is_stale_occasion(row.data, recorded_at, now, contact.get("time_zone") or "UTC"):
            conn.execute(sa.update(occasions).where(where).values(status="dropped", error="stale: no longer true or too old to send"))
            log.info("stale occasion dropped", extra={"event_id": str(row.event_id), "recorded_at": recorded_at.isoformat()})
            return False

        preferences = contact.get("reminder_preferences") or {}
        channels = domain.channels_for(preferences.get("channels", "email"), contact.get("email"), contact.get("phone"))
        if row.event_type == "InstallmentOverdue" and not preferences.get("overdue_alerts", True):
            channels = ()
        if not channels:
            conn.execute(sa.update(occasions).where(where).values(status="dropped", error="no reminder channel chosen"))
            return False

        send_at = self._send_time(contact, now)
        for channel in channels:
            self._queue(conn, row.event_id, row.owner_id, row.event_type, channel, domain.REMINDER, row.data, send_at)
        conn.execute(sa.update(occasions).where(where).values(status="planned", error=None))
        log.info(
            "reminder planned",
            extra={"event_id": str(row.event_id), "owner_id": str(row.owner_id), "channels": list(channels), "send_at": send_at.isoformat()},
        )
        return True

    def _send_time(self, contact: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
        preferences = contact.get("reminder_preferences") or {}
        quiet = preferences.get("quiet_hours") or {}
        quiet_hours = domain.QuietHours.parse(quiet.get("start"), quiet.get("end"))
        zone = contact.get("time_zone") or "UTC"
        try:
            return domain.plan_send_at(now, zone, self.config.earliest_local_time, quiet_hours, self.config.latest_local_time)
        except domain.InvalidTimeZone:
            log.warning("unknown time zone; planning in UTC", extra={"time_zone": zone})
            return domain.plan_send_at(now, "UTC", self.config.earliest_local_time, quiet_hours, self.config.latest_local_time)

    def _queue(
        self,
        conn: Connection,
        occasion_event_id: uuid.UUID,
        owner_id: uuid.UUID,
        occasion_type: str,
        channel: str,
        purpose: str,
        content: Mapping[str, Any],
        due_at: dt.datetime,
    ) -> uuid.UUID:
        notification_id = domain.notification_id(occasion_event_id, channel, purpose)
        now = self.clock()
        conn.execute(
            pg_insert(tables.notifications)
            .values(
                notification_id=notification_id,
                owner_id=owner_id,
                occasion_event_id=occasion_event_id,
                occasion_type=occasion_type,
                channel=channel,
                purpose=purpose,
                status="queued",
                due_at=due_at,
                content=dict(content),
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(constraint="notifier_notifications_occasion_key")
        )
        return notification_id

    # 3. Sending -----------------------------------------------------------------

    def send_due(self) -> int:
        """Send the notifications that are due; return how many attempts were made."""
        self.reclaim_interrupted()
        attempts = 0
        for _ in range(self.config.batch_size):
            claimed = self._claim()
            if claimed is None:
                break
            if claimed is not False:
                self._deliver(claimed)
                attempts += 1
        return attempts

    def reclaim_interrupted(self) -> int:
        """Settle notifications whose sender died mid-attempt (older than the lease).

        Emails are queued again; SMS are marked failed, since a resent SMS
        could reach the phone twice (see the module docstring).
        """
        table = tables.notifications
        now = self.clock()
        stale = sa.and_(
            table.c.status == "sending", table.c.claimed_at < now - dt.timedelta(seconds=self.config.lease_seconds)
        )
        with self.engine.begin() as conn:
            requeued = conn.execute(
                sa.update(table)
                .where(stale, table.c.channel != "sms")
                .values(
                    status="queued",
                    due_at=now,
                    error_code=INTERRUPTED,
                    error="the previous attempt was interrupted; it may have been delivered, so the message is sent again",
                    updated_at=now,
                )
                .returning(table.c.notification_id)
            ).all()
            abandoned = conn.execute(
                sa.update(table)
                .where(stale, table.c.channel == "sms")
                .values(
                    status="failed",
                    error_code=INTERRUPTED,
                    error="the attempt was interrupted after the SMS may have been accepted; it is not sent again, "
                    "so the phone never gets it twice",
                    updated_at=now,
                )
                .returning(table.c.notification_id)
            ).all()
        for row in requeued:
            log.warning("interrupted email queued again", extra={"notification_id": str(row.notification_id)})
        for row in abandoned:
            log.warning("interrupted SMS not sent again", extra={"notification_id": str(row.notification_id)})
        return len(requeued) + len(abandoned)

    def _claim(self) -> Any:
        """Claim the next due notification: returns its row, False when it was settled or taken meanwhile, or None."""
        table = tables.notifications
        now = self.clock()
        due = sa.and_(table.c.status == "queued", table.c.due_at <= now)
        with self.engine.connect() as conn:
            candidate = conn.execute(sa.select(table).where(due).order_by(table.c.due_at).limit(1)).first()
        if candidate is None:
            return None

        # Ask the ledger before locking the row. Locking assigns the claim's
        # transaction an id, and an RPC inside that transaction would hold back
        # the snapshot xmin that every follower of the event store reads up to.
        reason = self._paid_reason(candidate)

        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(table)
                .where(due, table.c.notification_id == candidate.notification_id)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return False  # another replica claimed it after this one read it

            if reason is None and row.channel == domain.SMS and not self._count_sms(conn, row.owner_id, now):
                reason = ("sms-daily-cap", "the daily SMS limit was reached, so this SMS was not sent")
            if reason is not None:
                code, detail = reason
                conn.execute(
                    sa.update(table)
                    .where(table.c.notification_id == row.notification_id)
                    .values(status="skipped", error_code=code, error=detail, updated_at=now)
                )
                log.info("notification skipped", extra={"notification_id": str(row.notification_id), "reason": code})
                return False

            conn.execute(
                sa.update(table)
                .where(table.c.notification_id == row.notification_id)
                .values(status="sending", attempts=row.attempts + 1, claimed_at=now, updated_at=now)
            )
            return SimpleNamespace(**{**row._asdict(), "attempts": row.attempts + 1})

    def _paid_reason(self, row: Any) -> tuple[str, str] | None:
        """Return why a reminder need not go out because its installment is settled, or None."""
        if row.purpose != domain.REMINDER:
            return None
        content = row.content
        try:
            outstanding = self.ledger.is_installment_outstanding(
                content["loan_id"], content["installment_number"], content["due_date"]
            )
        except Exception as error:  # the ledger is unreachable: remind anyway rather than miss a payment
            log.warning(
                "ledger check failed; sending the reminder anyway",
                extra={"notification_id": str(row.notification_id), "error": repr(error)},
            )
            return None
        if outstanding:
            return None
        return ("installment-paid", "the installment was paid, rescheduled or its loan closed before the reminder went out")

    def _count_sms(self, conn: Connection, owner_id: uuid.UUID, now: dt.datetime) -> bool:
        """Count one SMS against today's caps; False, and nothing counted, when a cap is reached.

        Every claim locks the two counter rows in the same order (by recipient),
        so concurrent claims wait for each other here instead of deadlocking.
        The count commits with the claim.
        """
        counters = tables.sms_counters
        day = now.astimezone(dt.UTC).date()
        recipients = ["*", str(owner_id)]
        conn.execute(
            pg_insert(counters).values([{"day": day, "recipient": r, "count": 0} for r in recipients]).on_conflict_do_nothing()
        )
        counts = dict(
            conn.execute(
                sa.select(counters.c.recipient, counters.c.count)
                .where(counters.c.day == day, counters.c.recipient.in_(recipients))
                .order_by(counters.c.recipient)
                .with_for_update()
            ).all()
        )
        if not domain.sms_allowed(counts[str(owner_id)], counts["*"], self.config.sms_cap_per_recipient, self.config.sms_cap_global):
            log.warning("daily SMS cap reached", extra={"owner_id": str(owner_id), "global_count": counts["*"]})
            return False
        conn.execute(
            sa.update(counters)
            .where(counters.c.day == day, counters.c.recipient.in_(recipients))
            .values(count=counters.c.count + 1)
        )
        return True

    def _deliver(self, row: Any) -> None:
        try:
            contact = self.directory.get_contact(str(row.owner_id))
        except NotFound:
            self._record_failure(row, DeliveryFailed("user-not-found", "the user was deleted before sending", True), None)
            return
        except Exception as error:
            self._record_failure(row, DeliveryFailed("contact-unavailable", f"contact lookup failed: {error!r}", False), None)
            return

        address = contact.get("email") if row.channel == domain.EMAIL else contact.get("phone")
        if not address:
            failure = DeliveryFailed("no-address", f"the profile has no {row.channel} address", True)
            self._record_failure(row, failure, contact)
            return
        message = render(row.content, contact.get("locale"), contact.get("display_name"))
        try:
            provider_id = self.senders[row.channel].send(address, message, row.notification_id)
        except DeliveryFailed as failure:
            self._record_failure(row, failure, contact)
            return
        self._record_sent(row, provider_id)

    def _record_sent(self, row: Any, provider_id: str) -> None:
        table = tables.notifications
        now = self.clock()
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(table)
                .where(table.c.notification_id == row.notification_id, table.c.status == "sending", table.c.attempts == row.attempts)
                .values(status="sent", provider_id=provider_id, sent_at=now, updated_at=now)
            ).rowcount
            if updated:
                event = NewEvent(
                    "ReminderSent",
                    {
                        "notification_id": row.notification_id,
                        "owner_id": row.owner_id,
                        "occasion_event_id": row.occasion_event_id,
                        "channel": row.channel,
                        "provider_id": provider_id,
                    },
                    event_id=uuid.uuid5(row.notification_id, "sent"),
                )
                self._append_sent_event(conn, row, event)
        log.info(
            "notification sent",
            extra={"notification_id": str(row.notification_id), "channel": row.channel, "provider_id": provider_id, "attempt": row.attempts},
        )

    def _told_recently(self, conn: Connection, owner_id: uuid.UUID, channel: str, now: dt.datetime) -> bool:
        """Tell whether a channel-failure notice went to this user on `channel` within the last day."""
        table = tables.notifications
        since = now - CHANNEL_FAILURE_NOTICE_INTERVAL
        return (
            conn.execute(
                sa.select(sa.literal(1))
                .where(
                    table.c.owner_id == owner_id,
                    table.c.purpose == domain.CHANNEL_FAILURE,
                    table.c.channel == channel,
                    table.c.created_at > since,
                )
                .limit(1)
            ).first()
            is not None
        )

    def _append_sent_event(self, conn: Connection, row: Any, event: NewEvent) -> None:
        """Append ReminderSent to the user's stream, retrying when another sender appended first.

        The append runs in a savepoint, so a lost race leaves the "sent" update in place.
        """
        stream_id = f"notifications-{row.owner_id}"
        for attempt in range(1, SENT_EVENT_ATTEMPTS + 1):
            try:
                self.store.append("notifications", stream_id, ANY_VERSION, [event], conn=conn)
                return
            except ConcurrencyError:
                log.debug("notifications stream moved on; appending again", extra={"stream_id": stream_id, "attempt": attempt})
        log.error(
            "ReminderSent not recorded after concurrent appends; the delivery log still shows the send",
            extra={"notification_id": str(row.notification_id), "stream_id": stream_id, "attempts": SENT_EVENT_ATTEMPTS},
        )

    def _record_failure(self, row: Any, failure: DeliveryFailed, contact: Mapping[str, Any] | None) -> None:
        table = tables.notifications
        now = self.clock()
        outcome = domain.after_failure(
            now, row.attempts, self.config.max_attempts, failure.permanent, self.config.retry_base_seconds, self.uniform
        )
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(table)
                .where(table.c.notification_id == row.notification_id, table.c.status == "sending", table.c.attempts == row.attempts)
                .values(
                    status=outcome.status,
                    due_at=outcome.retry_at or row.due_at,
                    error_code=failure.code,
                    error=failure.detail[:1000],
                    updated_at=now,
                )
            )
            fallback = None
            if outcome.status == "failed" and row.purpose != domain.CHANNEL_FAILURE and contact is not None:
                fallback = domain.other_channel(row.channel, contact.get("email"), contact.get("phone"))
            if fallback is not None and self._told_recently(conn, row.owner_id, fallback, now):
                fallback = None
            if fallback is not None:
                content = {**row.content, "kind": domain.CHANNEL_FAILURE, "failed_channel": row.channel}
                self._queue(conn, row.occasion_event_id, row.owner_id, row.occasion_type, fallback, domain.CHANNEL_FAILURE, content, now)
        extra = {
            "notification_id": str(row.notification_id),
            "channel": row.channel,
            "attempt": row.attempts,
            "error_code": failure.code,
            "error": failure.detail,
            "status": outcome.status,
        }
        if outcome.retry_at is not None:
            extra["retry_at"] = outcome.retry_at.isoformat()
        if fallback is not None:
            extra["fallback_channel"] = fallback
        log.warning("notification attempt failed", extra=extra)

    # Test reminders and the log -------------------------------------------------

    def request_test(self, owner_id: uuid.UUID, idempotency_key: str | None = None) -> list[dict[str, Any]]:
        """Queue a test reminder to the user on their chosen channels (email when they chose none)."""
        contact = self.directory.get_contact(str(owner_id))
        preferences = contact.get("reminder_preferences") or {}
        channels = domain.channels_for(preferences.get("channels", "email"), contact.get("email"), contact.get("phone"))
        if not channels:
            channels = domain.channels_for("email", contact.get("email"), None)
        if not channels:
            raise ValidationFailed("channels", preferences.get("channels"), "no email address or phone number to send a test reminder to; add one to the profile")
        key = idempotency_key or str(uuid.uuid4())
        occasion_id = uuid.uuid5(TEST_NAMESPACE, f"{owner_id}:{key}")
        with self.engine.begin() as conn:
            ids = [
                self._queue(conn, occasion_id, owner_id, "TestRequested", channel, domain.TEST, {"kind": "test"}, self.clock())
                for channel in channels
            ]
        return [self.get_notification(owner_id, notification_id) for notification_id in ids]

    def get_notification(self, owner_id: uuid.UUID, notification_id: uuid.UUID) -> dict[str, Any]:
        table = tables.notifications
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table).where(table.c.notification_id == notification_id, table.c.owner_id == owner_id)
            ).first()
        if row is None:
            raise NotFound("notification", str(notification_id))
        return notification_json(row)

    def list_notifications(self, owner_id: uuid.UUID, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        """Return one page of the owner's delivery log, newest first."""
        table = tables.notifications
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).where(table.c.owner_id == owner_id)).scalar_one()
            rows = conn.execute(
                sa.select(table)
                .where(table.c.owner_id == owner_id)
                .order_by(table.c.created_at.desc(), table.c.notification_id)
                .limit(limit)
                .offset(offset)
            ).all()
        return {"items": [notification_json(row) for row in rows], "total": total, "limit": limit, "offset": offset}


def notification_json(row: Any) -> dict[str, Any]:
    content = row.content
    return {
        "id": str(row.notification_id),
        "occasion_event_id": str(row.occasion_event_id),
        "kind": content.get("kind"),
        "purpose": row.purpose,
        "channel": row.channel,
        "status": row.status,
        "attempts": row.attempts,
        "loan_id": content.get("loan_id"),
        "loan_name": content.get("loan_name"),
        "due_date": content.get("due_date"),
        "amount": content.get("amount"),
        "currency": content.get("currency"),
        "due_at": row.due_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "provider_id": row.provider_id,
        "error_code": row.error_code,
        "error": row.error,
        "created_at": row.created_at.isoformat(),
    }


def parse_page(query: Mapping[str, Any]) -> tuple[int, int]:
    """Parse `limit` (1 to 100, default 20) and `offset`; raise ValidationFailed naming the option."""
    values = []
    for name, default, maximum in (("limit", 20, MAX_PAGE_SIZE), ("offset", 0, 10**9)):
        raw = query.get(name)
        try:
            value = default if raw in (None, "") else int(raw)
        except (TypeError, ValueError):
            raise ValidationFailed(name, raw, f"{name} must be a whole number from {0 if name == 'offset' else 1} to {maximum}") from None
        minimum = 0 if name == "offset" else 1
        if not minimum <= value <= maximum:
            raise ValidationFailed(name, raw, f"{name} must be a whole number from {minimum} to {maximum}")
        values.append(value)
    return values[0], values[1]


__all__ = ["Directory", "Ledger", "Notifier", "NotifierConfig", "parse_page"]
