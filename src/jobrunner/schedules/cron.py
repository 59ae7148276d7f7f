"""Cron expressions in an IANA time zone (croniter + zoneinfo), and which fire times of a
schedule are due at a given moment under its misfire policy.

Five fields (minute hour day-of-month month day-of-week) as everywhere; a sixth field in
front is seconds (``*/10 * * * * *``), accepted only where the settings allow it
(``JOBRUNNER_SCHEDULE_ALLOW_SECONDS``). Fire times are computed in the schedule's zone
(so "9:00 on weekdays" stays 9:00 across daylight saving changes) and stored in UTC."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from croniter import CroniterBadDateError, croniter

from jobrunner.domain.errors import InvalidInput

MAX_CRON_LENGTH = 200
# At most this many firings of one schedule are created per scheduler round; the rest
# (only possible with a seconds field and a long grace) wait for the next round.
MAX_FIRINGS_PER_ROUND = 100
# What croniter raises for an expression with no further fire time in its search window.
CRON_ERRORS: tuple[type[Exception], ...] = (CroniterBadDateError, ValueError, OverflowError)
# Fire times are whole seconds: a boundary half a second off one never ties with one.
_HALF_SECOND = dt.timedelta(milliseconds=500)


@dataclass(frozen=True, slots=True)
class Cron:
    expression: str
    zone: zoneinfo.ZoneInfo

    @property
    def has_seconds(self) -> bool:
        return len(self.expression.split()) == 6

    def _iter(self, start: dt.datetime) -> croniter:
        return croniter(self.expression, start.astimezone(self.zone), second_at_beginning=self.has_seconds)

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first fire time strictly after ``moment``, in UTC."""
        return self._iter(moment).get_next(dt.datetime).astimezone(dt.UTC)

    def prev_before(self, moment: dt.datetime) -> dt.datetime:
        """The last fire time strictly before ``moment``, in UTC."""
        return self._iter(moment).get_prev(dt.datetime).astimezone(dt.UTC)


def parse_zone(name: str, loc: str = "timezone") -> zoneinfo.ZoneInfo:
    try:
        if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise InvalidInput(
            "unknown time zone",
            [{"loc": loc, "message": "must be an IANA time zone name, e.g. Europe/Paris or UTC"}],
        ) from None


def parse_cron(expression: str, zone: zoneinfo.ZoneInfo, *, allow_seconds: bool, loc: str = "cron") -> Cron:
    """A valid expression that fires at least once more, or ``InvalidInput``."""
    text = " ".join(expression.split())
    fields = len(text.split())
    if fields == 6 and not allow_seconds:
        raise InvalidInput(
            "cron seconds field not allowed",
            [{"loc": loc, "message": "must have 5 fields (minute hour day month weekday); seconds are not enabled"}],
        )
    if fields not in (5, 6) or not croniter.is_valid(text, second_at_beginning=fields == 6):
        raise InvalidInput(
            "invalid cron expression",
            [{"loc": loc, "message": "must be a cron expression of 5 fields (minute hour day month weekday)"}],
        )
    cron = Cron(text, zone)
    try:
        cron.next_after(dt.datetime.now(dt.UTC))
    except CRON_ERRORS:
        raise InvalidInput("cron never fires", [{"loc": loc, "message": "never fires (no such date)"}]) from None
    return cron


@dataclass(frozen=True, slots=True)
class DueFirings:
    """What a schedule should do at ``now``: ``fire`` the fire times to create one job
    each (oldest first), ``skipped_missed`` the latest missed fire time that the skip
    policy dropped (None: none), ``next_run_at`` the schedule's next fire time after
    these."""

    fire: list[dt.datetime]
    skipped_missed: dt.datetime | None
    coalesced: bool
    next_run_at: dt.datetime


def due_firings(
    cron: Cron, next_run_at: dt.datetime, now: dt.datetime, *, grace: dt.timedelta, misfire_policy: str
) -> DueFirings:
    """The fire times due at ``now`` from ``next_run_at`` on (itself a fire time).

    A fire time more than ``grace`` in the past was missed (no worker was running): with
    ``run_once`` every due fire time, missed or not, is coalesced into one job for the
    latest of them; with ``skip`` the missed ones are dropped and the rest fire. Fire
    times within ``grace`` are not misfires: each gets its job (a scheduler round that
    came a little late catches up exactly)."""
    boundary = now.replace(microsecond=0) - grace + _HALF_SECOND
    if next_run_at < boundary:  # at least one firing was missed
        latest_due = cron.prev_before(now.replace(microsecond=0) + _HALF_SECOND)
        if misfire_policy == "run_once":
            return DueFirings([latest_due], None, True, cron.next_after(latest_due))
        skipped = cron.prev_before(boundary)
        on_time = _between(cron, boundary, now)
        following = cron.next_after(on_time[-1] if on_time else skipped)
        return DueFirings(on_time, skipped, False, following)
    fire = [next_run_at]
    while len(fire) < MAX_FIRINGS_PER_ROUND:
        after = cron.next_after(fire[-1])
        if after > now:
            break
        fire.append(after)
    return DueFirings(fire, None, False, cron.next_after(fire[-1]))


def _between(cron: Cron, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Fire times in (start, end], at most MAX_FIRINGS_PER_ROUND."""
    found: list[dt.datetime] = []
    moment = start
    while len(found) < MAX_FIRINGS_PER_ROUND:
        moment = cron.next_after(moment)
        if moment > end:
            break
        found.append(moment)
    return found
