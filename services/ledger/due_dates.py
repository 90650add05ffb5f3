"""The due-date scan: record InstallmentDueSoon and InstallmentOverdue for unpaid installments.

`decide_occasions` is the pure rule: given one unpaid installment, the
owner's reminder settings and the current instant, it returns the occasions
that are due now, judged by the calendar date in the owner's time zone.
`DueDateScanner` finds the candidate installments through the index on
`ledger.loans.next_due_date` and appends one event per occasion to the
stream "reminders-<loan uuid>".

Each event id is a uuid5 of (loan, installment, due date, occasion). The
event store writes nothing when an id is already stored, so two replicas
scanning at once, or a scan repeated after a restart, record each occasion
once. After downtime only the newest occasion of each installment is
recorded (the 1-day reminder, not also the stale 3-day one), and an
installment paid in the meantime has remaining 0 and is not a candidate.

The owner's time zone and reminder preferences are not personal data, so
accounts publishes them in clear; the ledger projects them into
`ledger.reminder_settings` with its own follower ("ledger-reminders"),
caught up at the start of each scan. No RPC to accounts is needed.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from loansyncro.consumer import Follower
from loansyncro.events.accounts import MAX_DAYS_BEFORE, ReminderPreferences
from loansyncro.eventstore import ANY_VERSION, ConcurrencyError, EventStore, NewEvent, RecordedEvent
from loansyncro.eventstore.schema import events as event_table
from loansyncro.schedule import local_today
from services.ledger import tables

log = logging.getLogger(__name__)

SETTINGS_CONSUMER: Final = "ledger-reminders"
SETTINGS_EVENT_TYPES: Final = ("UserRegistered", "ProfileUpdated", "ReminderPreferencesChanged", "UserDeleted")
STREAM_TYPE: Final = "reminders"
# Namespace of the deterministic occasion event ids; never change it, or every occasion is recorded again.
OCCASION_NAMESPACE: Final = uuid.UUID("6f1d7a52-3c1b-5d0e-9a43-8b7f2e1c0d55")
# Overdue alerts stop after this many repeats, so an abandoned loan does not alert forever.
DEFAULT_MAX_OVERDUE_REPEATS: Final = 12
ID_BATCH_SIZE: Final = 1000
MAX_OVERDUE_ALERTS_PER_LOAN: Final = 3
# Every local calendar date is within one day of the UTC date (zones span UTC-12 to UTC+14).
ZONE_SPREAD_DAYS: Final = 1
# Scan lock key for pg_try_advisory_xact_lock: replicas take turns, so they do not both do the work.
SCAN_LOCK_KEY: Final = 0x4C534455  # "LSDU"

DEFAULTS: Final = ReminderPreferences()
# Partial index of ledger.loans WHERE standing = 'overdue', created by revision 0007_notifier.
OVERDUE_INDEX: Final = "ledger_loans_overdue_idx"

# The table lives in the ledger's schema and is created by the notifier migration
# (0007), which creates the schema too when it does not exist yet.
metadata = sa.MetaData(schema=tables.SCHEMA)

reminder_settings = sa.Table(
    "reminder_settings",
    metadata,
    sa.Column("owner_id", sa.Uuid, primary_key=True),
    sa.Column("time_zone", sa.Text, nullable=False, server_default="UTC"),
    sa.Column("days_before", ARRAY(sa.Integer), nullable=False),
    sa.Column("overdue_alerts", sa.Boolean, nullable=False),
    sa.Column("overdue_repeat_days", sa.Integer),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
)


# Decisions ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderSettings:
    """The reminder preferences of one owner, with the time zone in which their "today" is judged."""

    time_zone: str = "UTC"
    days_before: tuple[int, ...] = DEFAULTS.days_before
    overdue_alerts: bool = DEFAULTS.overdue_alerts
    overdue_repeat_days: int | None = DEFAULTS.overdue_repeat_days


@dataclass(frozen=True)
class UnpaidInstallment:
    loan_id: uuid.UUID
    owner_id: uuid.UUID
    loan_name: str
    currency: str
    number: int
    due_date: dt.date
    remaining: Decimal


@dataclass(frozen=True)
class Occasion:
    """One reminder occasion of an installment, ready to become an event."""

    event_type: str
    event_id: uuid.UUID
    data: dict[str, Any]


def occasion_event_id(loan_id: uuid.UUID, number: int, due_date: dt.date, occasion: str) -> uuid.UUID:
    """Derive the event id of an occasion such as "due-soon:3" or "overdue:0"."""
    return uuid.uuid5(OCCASION_NAMESPACE, f"{loan_id}:{number}:{due_date.isoformat()}:{occasion}")


def decide_occasions(
    installment: UnpaidInstallment,
    settings: ReminderSettings,
    now_utc: dt.datetime,
    max_overdue_repeats: int = DEFAULT_MAX_OVERDUE_REPEATS,
) -> list[Occasion]:
    """Return the occasions of an unpaid installment that are due at `now_utc`.

    "Today" is the owner's local date. A due-soon reminder with offset d is due
    from d days before the due date until the due date. When several offsets
    have passed (after downtime), only the nearest one is returned. The first
    overdue alert is due the day after the due date, repeat k is due
    k * overdue_repeat_days later, and only the latest repeat is returned.
    """
    if installment.remaining <= 0:
        return []
    today = local_today(settings.time_zone, now_utc)
    days_until_due = (installment.due_date - today).days
    common = {
        "loan_id": installment.loan_id,
        "owner_id": installment.owner_id,
        "loan_name": installment.loan_name,
        "installment_number": installment.number,
        "due_date": installment.due_date,
        "currency": installment.currency,
    }

    if days_until_due >= 0:
        reached = [days for days in settings.days_before if days >= days_until_due]
        if not reached:
            return []
        days_before = min(reached)
        event_id = occasion_event_id(installment.loan_id, installment.number, installment.due_date, f"due-soon:{days_before}")
        data = {**common, "amount_due": installment.remaining, "days_before": days_before}
        return [Occasion("InstallmentDueSoon", event_id, data)]

    if not settings.overdue_alerts:
        return []
    days_past_due = -days_until_due
    repeat = 0 if settings.overdue_repeat_days is None else (days_past_due - 1) // settings.overdue_repeat_days
    repeat = min(repeat, max_overdue_repeats)
    event_id = occasion_event_id(installment.loan_id, installment.number, installment.due_date, f"overdue:{repeat}")
    data = {**common, "amount_overdue": installment.remaining, "days_past_due": days_past_due, "repeat": repeat}
    return [Occasion("InstallmentOverdue", event_id, data)]


def scan_horizon(now_utc: dt.datetime) -> dt.date:
    """Return the latest due date any owner could be reminded of at `now_utc`, whatever their zone."""
    return now_utc.astimezone(dt.UTC).date() + dt.timedelta(days=ZONE_SPREAD_DAYS + MAX_DAYS_BEFORE)


# Settings projection -------------------------------------------------------------


def on_profile(conn: Connection, event: RecordedEvent) -> None:
    """Record the owner's time zone from UserRegistered or ProfileUpdated (stored in clear)."""
    data = event.data
    conn.execute(
        pg_insert(reminder_settings)
        .values(
            owner_id=data["user_id"],
            time_zone=data["time_zone"],
            days_before=list(DEFAULTS.days_before),
            overdue_alerts=DEFAULTS.overdue_alerts,
            overdue_repeat_days=DEFAULTS.overdue_repeat_days,
        )
        .on_conflict_do_update(index_elements=[reminder_settings.c.owner_id], set_={"time_zone": data["time_zone"]})
    )


def on_preferences_changed(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    values = {
        "days_before": list(data["days_before"]),
        "overdue_alerts": data["overdue_alerts"],
        "overdue_repeat_days": data.get("overdue_repeat_days"),
    }
    conn.execute(
        pg_insert(reminder_settings)
        .values(owner_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[reminder_settings.c.owner_id], set_=values)
    )


def on_user_deleted(conn: Connection, event: RecordedEvent) -> None:
    conn.execute(
        pg_insert(reminder_settings)
        .values(owner_id=event.data["user_id"], days_before=[], overdue_alerts=False, deleted=True)
        .on_conflict_do_update(
            index_elements=[reminder_settings.c.owner_id],
            set_={"deleted": True, "days_before": [], "overdue_alerts": False},
        )
    )


def build_settings_follower(engine: Engine) -> Follower:
    """Follow account events into `ledger.reminder_settings`, tracked in the ledger's tracking tables."""
    handlers = {
        "UserRegistered": on_profile,
        "ProfileUpdated": on_profile,
        "ReminderPreferencesChanged": on_preferences_changed,
        "UserDeleted": on_user_deleted,
    }
    return Follower(engine, SETTINGS_CONSUMER, tables.tracking, handlers)


# Scan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    candidates: int
    recorded: int
    skipped_locked: bool = False


def _candidates_query(horizon: dt.date) -> sa.Select[Any]:
    loans = tables.loans
    installments = tables.installments
    settings = reminder_settings
    # The range on next_due_date (ledger_loans_next_due_date_idx) finds loans coming due,
    # and stale rows whose next due date has passed. The partial index of overdue loans
    # finds those whose next installment is beyond the horizon (quarterly or annual
    # payments). So the scan reads loans due or overdue, never every loan.
    return (
        sa.select(
            loans.c.loan_id,
            loans.c.owner_id,
            loans.c.name,
            loans.c.currency,
            loans.c.time_zone.label("loan_time_zone"),
            installments.c.number,
            installments.c.due_date,
            installments.c.remaining,
            settings.c.time_zone,
            settings.c.days_before,
            settings.c.overdue_alerts,
            settings.c.overdue_repeat_days,
            settings.c.deleted,
        )
        .join(installments, installments.c.loan_id == loans.c.loan_id)
        .outerjoin(settings, settings.c.owner_id == loans.c.owner_id)
        .where(
            sa.or_(
                sa.and_(loans.c.next_due_date.is_not(None), loans.c.next_due_date <= horizon),
                loans.c.standing == "overdue",
            ),
            loans.c.lifecycle == "active",
            installments.c.remaining > 0,
            installments.c.due_date <= horizon,
        )
        .order_by(loans.c.loan_id, installments.c.number)
    )


def _settings_of(row: Any) -> ReminderSettings | None:
    if row.deleted:
        return None
    if row.days_before is None:
        # No account event seen for this owner yet: the account defaults, in the loan's zone.
        return ReminderSettings(time_zone=row.loan_time_zone or "UTC")
    return ReminderSettings(
        time_zone=row.time_zone,
        days_before=tuple(row.days_before),
        overdue_alerts=row.overdue_alerts,
        overdue_repeat_days=row.overdue_repeat_days,
    )


def limit_overdue_alerts(occasions: Sequence[Occasion]) -> list[Occasion]:
    """Keep, of each loan's overdue occasions, those of its MAX_OVERDUE_ALERTS_PER_LOAN earliest installments.

    A loan entered long after it started can have thousands of unpaid
    installments: alerts about the oldest arrears are what the borrower
    needs, not one message per installment. Later installments get their
    alerts once the earlier ones are paid.
    """
    overdue: dict[Any, list[Occasion]] = {}
    limited: list[Occasion] = []
    for occasion in occasions:
        if occasion.event_type == "InstallmentOverdue":
            overdue.setdefault(occasion.data["loan_id"], []).append(occasion)
        else:
            limited.append(occasion)
    for loan_occasions in overdue.values():
        loan_occasions.sort(key=lambda occasion: occasion.data["installment_number"])
        limited.extend(loan_occasions[:MAX_OVERDUE_ALERTS_PER_LOAN])
    return limited


class DueDateScanner:
    """Finds the occasions due now and appends them to the event store."""

    def __init__(self, engine: Engine, *, max_overdue_repeats: int = DEFAULT_MAX_OVERDUE_REPEATS) -> None:
        self.engine = engine
        self.store = EventStore(engine)
        self.settings_follower = build_settings_follower(engine)
        self.max_overdue_repeats = max_overdue_repeats

    def find_occasions(self, conn: Connection, now_utc: dt.datetime) -> tuple[int, list[Occasion]]:
        """Return the number of candidate installments and the occasions due at `now_utc`."""
        rows = conn.execute(_candidates_query(scan_horizon(now_utc))).all()
        occasions: list[Occasion] = []
        for row in rows:
            settings = _settings_of(row)
            if settings is None:
                continue
            installment = UnpaidInstallment(
                row.loan_id, row.owner_id, row.name, row.currency, row.number, row.due_date, row.remaining
            )
            occasions.extend(decide_occasions(installment, settings, now_utc, self.max_overdue_repeats))
        return len(rows), limit_overdue_alerts(occasions)

    def scan(self, now_utc: dt.datetime | None = None) -> ScanResult:
        """Catch up the settings, then record every occasion due now; replicas take turns."""
        now_utc = now_utc or dt.datetime.now(dt.UTC)
        self.settings_follower.catch_up()

        with self.engine.begin() as conn:
            locked = conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(SCAN_LOCK_KEY))).scalar_one()
            if not locked:
                log.debug("due-date scan skipped: another replica is scanning")
                return ScanResult(0, 0, skipped_locked=True)
            candidates, occasions = self.find_occasions(conn, now_utc)
            recorded = self.record(occasions, conn)
        log.info("due-date scan finished", extra={"candidates": candidates, "occasions": len(occasions), "recorded": recorded})
        return ScanResult(candidates, recorded)

    def record(self, occasions: Sequence[Occasion], conn: Connection) -> int:
        """Append each occasion not yet stored to its loan's reminders stream; return how many were new."""
        if not occasions:
            return 0
        # One query skips the occasions recorded by earlier scans; the store's own
        # id check still guards against a replica that appended in between.
        # In batches: PostgreSQL takes at most 65,535 parameters per statement.
        ids = [o.event_id for o in occasions]
        known: set[uuid.UUID] = set()
        for start in range(0, len(ids), ID_BATCH_SIZE):
            batch = ids[start : start + ID_BATCH_SIZE]
            known.update(conn.execute(sa.select(event_table.c.event_id).where(event_table.c.event_id.in_(batch))).scalars())
        recorded = 0
        for occasion in occasions:
            if occasion.event_id in known:
                continue
            stream_id = f"{STREAM_TYPE}-{occasion.data['loan_id']}"
            new = NewEvent(occasion.event_type, occasion.data, event_id=occasion.event_id)
            self._append(stream_id, new, conn)
            known.add(occasion.event_id)
            recorded += 1
        return recorded

    def _append(self, stream_id: str, new: NewEvent, conn: Connection) -> None:
        for attempt in range(1, 4):
            try:
                self.store.append(STREAM_TYPE, stream_id, ANY_VERSION, [new], conn=conn)
                return
            except ConcurrencyError:
                # Another writer appended a different event to the same stream at the same moment.
                log.info("reminder stream moved on; appending again", extra={"stream_id": stream_id, "attempt": attempt})
        self.store.append(STREAM_TYPE, stream_id, ANY_VERSION, [new], conn=conn)


def installment_outstanding(conn: Connection, loan_id: uuid.UUID, number: int, due_date: dt.date) -> bool:
    """Tell whether the installment is still unpaid on an active loan (the notifier checks right before sending)."""
    loans = tables.loans
    installments = tables.installments
    remaining = conn.execute(
        sa.select(installments.c.remaining)
        .join(loans, loans.c.loan_id == installments.c.loan_id)
        .where(
            installments.c.loan_id == loan_id,
            installments.c.number == number,
            installments.c.due_date == due_date,
            loans.c.lifecycle == "active",
        )
    ).scalar_one_or_none()
    return remaining is not None and remaining > 0
