"""Pure decisions of the notifier: when to send, on which channels, retries and SMS caps.

Nothing here does I/O or reads the clock: callers pass the current instant.
Instants are aware UTC datetimes. Local times are wall-clock times in the
user's IANA time zone, converted with `zoneinfo`. A wall time skipped by a
spring-forward change resolves to the first instant after the gap, and a wall
time repeated by a fall-back change resolves to its first occurrence. Each
message gets one such instant, so it is sent once.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EMAIL: Final = "email"
SMS: Final = "sms"
CHANNELS: Final = (EMAIL, SMS)
# Reminder preferences "channels" value -> channels used.
PREFERENCE_CHANNELS: Final = {"email": (EMAIL,), "sms": (SMS,), "both": (EMAIL, SMS), "none": ()}

# Purposes of a message: a reminder of an occasion, the notice that a channel keeps
# failing (sent on the other channel), and a test the user asked for.
REMINDER: Final = "reminder"
CHANNEL_FAILURE: Final = "channel_failure"
TEST: Final = "test"

MAX_RETRY_DELAY_SECONDS: Final = 6 * 3600.0
# An occasion recorded longer ago than this is not sent: after a long outage of the
# notifier, the ledger has recorded newer occasions for whatever is still due.
# NOTE: a one-off overdue alert (no repeats) that waited longer is lost, because the
# ledger never records that occasion again.
STALE_AFTER: Final = dt.timedelta(days=2)
NOTIFICATION_NAMESPACE: Final = uuid.UUID("0b8f3c1e-52a4-5f0d-8c77-1d2e3f405a6b")


class InvalidTimeZone(ValueError):
    pass


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidTimeZone(f"time zone {name!r} is not a known IANA zone; use a name such as 'Europe/Paris'") from error


def parse_local_time(value: str) -> dt.time:
    """Parse "HH:MM" (24-hour) into a time; raise ValueError naming the value."""
    try:
        hours, minutes = value.split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, AttributeError) as error:
        raise ValueError(f"local time {value!r} is invalid: use 24-hour 'HH:MM' such as '21:30'") from error


def local_instant(day: dt.date, wall_time: dt.time, zone: str) -> dt.datetime:
    """Return the UTC instant at which the wall clock in `zone` shows `wall_time` on `day`.

    A repeated wall time (fall-back) gives its first occurrence. A skipped wall
    time (spring-forward) gives the instant the clocks jumped, which is the
    first local time after the gap (02:30 on 2025-03-09 in New York is 07:00Z,
    shown as 03:00 EDT).
    """
    tz = zone_of(zone)
    naive = dt.datetime.combine(day, wall_time)
    first = naive.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(dt.UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc

    # In a gap, fold=0 applies the offset before the change and fold=1 the one after,
    # so the change lies between the two; offsets change on whole seconds.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    high = utc
    if low > high:
        low, high = high, low
    before = low.astimezone(tz).utcoffset()
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock times between which nothing is sent; the window may span midnight."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> QuietHours | None:
        if not start or not end:
            return None
        return cls(parse_local_time(start), parse_local_time(end))

    def contains(self, wall_time: dt.time) -> bool:
        if self.start < self.end:
            return self.start <= wall_time < self.end
        return wall_time >= self.start or wall_time < self.end

    def end_after(self, instant: dt.datetime, zone: str) -> dt.datetime | None:
        """Return the instant the quiet hours containing `instant` end, or None when `instant` is outside them."""
        local = instant.astimezone(zone_of(zone))
        wall = local.time().replace(tzinfo=None)
        if not self.contains(wall):
            return None
        end_day = local.date()
        if self.start > self.end and wall >= self.start:
            end_day += dt.timedelta(days=1)
        return local_instant(end_day, self.end, zone)


def plan_send_at(
    now: dt.datetime,
    zone: str,
    earliest_local_time: dt.time,
    quiet_hours: QuietHours | None,
    latest_local_time: dt.time | None = None,
) -> dt.datetime:
    """Return when to send a reminder planned at `now`.

    The reminder goes out between the earliest and the latest local time of day
    (after the latest it waits for the next day's earliest), and never inside
    the user's quiet hours.
    """
    local_now = now.astimezone(zone_of(zone))
    day = local_now.date()
    if latest_local_time is not None and local_now.time() >= latest_local_time:
        day += dt.timedelta(days=1)
    send_at = max(now, local_instant(day, earliest_local_time, zone))
    if quiet_hours is not None:
        end = quiet_hours.end_after(send_at, zone)
        if end is not None:
            send_at = end
    return send_at


def is_stale(kind: str, due_date: dt.date, recorded_at: dt.datetime, now: dt.datetime, zone: str) -> bool:
    """Tell whether an occasion is no longer worth sending at `now`.

    A due-soon reminder is stale once its due date has passed in the user's zone,
    and any occasion is stale when it was recorded more than STALE_AFTER ago.
    """
    if now - recorded_at > STALE_AFTER:
        return True
    return kind == "due_soon" and now.astimezone(zone_of(zone)).date() > due_date


def channels_for(preference: str, email: str | None, phone: str | None) -> tuple[str, ...]:
    """Return the channels to use: those the user chose and has an address for."""
    chosen = PREFERENCE_CHANNELS.get(preference, ())
    addresses = {EMAIL: email, SMS: phone}
    return tuple(channel for channel in chosen if addresses[channel])


def other_channel(channel: str, email: str | None, phone: str | None) -> str | None:
    """Return the channel to tell the user on when `channel` keeps failing, if they have an address there."""
    if channel == SMS and email:
        return EMAIL
    if channel == EMAIL and phone:
        return SMS
    return None


def retry_delay(attempt: int, base_seconds: float, uniform: Callable[[float, float], float] = random.uniform) -> float:
    """Return the delay before attempt `attempt + 1`: exponential, with jitter so replicas do not retry in step."""
    delay = min(base_seconds * 2 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS)
    return delay * uniform(0.5, 1.0)


@dataclass(frozen=True)
class Outcome:
    """The result of a failed attempt: the new status and, for a retry, its time."""

    status: str
    retry_at: dt.datetime | None = None


def after_failure(
    now: dt.datetime,
    attempts: int,
    max_attempts: int,
    permanent: bool,
    base_seconds: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> Outcome:
    """Decide between a retry later and giving up after a failed attempt."""
    if permanent or attempts >= max_attempts:
        return Outcome("failed")
    return Outcome("queued", now + dt.timedelta(seconds=retry_delay(attempts, base_seconds, uniform)))


def sms_allowed(sent_to_recipient: int, sent_overall: int, per_recipient_cap: int, global_cap: int) -> bool:
    """Tell whether one more SMS stays within both daily caps (counts include every earlier attempt of the day)."""
    return sent_to_recipient < per_recipient_cap and sent_overall < global_cap


def notification_id(occasion_event_id: uuid.UUID, channel: str, purpose: str) -> uuid.UUID:
    """Derive the message id from what makes it unique, so every replica computes the same id."""
    return uuid.uuid5(NOTIFICATION_NAMESPACE, f"{occasion_event_id}:{channel}:{purpose}")
