"""The schedule: a crontab line as an APScheduler trigger, and the slot a run belongs to.

``config`` checks ``schedule`` with ``cron_trigger``; ``serve`` fires runs with it and
tells each scheduled run its slot, which the state store hands to one instance only.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

if TYPE_CHECKING:
    from cbsalert.config import Config

GAP_STEPS = 400
_TICK = timedelta(microseconds=1)
# A run that is hours late still runs: yesterday is still yesterday.
MISFIRE_GRACE_S = 6 * 3600
# Look-back windows for the fire time of a scheduled run: a run is normally milliseconds
# late, but may be hours late after a machine slept (up to the misfire grace).
SLOT_WINDOWS = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(hours=1),
    timedelta(seconds=MISFIRE_GRACE_S),
)  # fmt: skip


def valid_cron(value: str) -> str:
    """``value`` when it is a cron expression cron_trigger takes; else the ValueError a
    config's validator reports at its line (the check's and every report's ``schedule``)."""
    try:
        cron_trigger(value, "UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
    return value


def cron_trigger(expr: str, timezone: str) -> CronTrigger:
    """A trigger for a 5-field crontab, or a 6-field one with seconds first (used by tests)."""
    fields = expr.split()
    zone = ZoneInfo(timezone)
    if len(fields) == 5:
        return CronTrigger.from_crontab(expr, timezone=zone)
    if len(fields) == 6:
        second, minute, hour, day, month, dow = fields
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month,
            day_of_week=dow, timezone=zone,
        )  # fmt: skip
    raise ValueError(f"expected 5 fields (or 6 with seconds first), got {len(fields)}")


@functools.lru_cache(maxsize=16)
def longest_gap(expr: str, timezone: str, *, span: timedelta = timedelta(days=62)) -> timedelta:
    """The longest time between two runs of the schedule, over ``span`` from a fixed start
    (and at least its first two runs; at most ``GAP_STEPS`` runs are looked at: a schedule
    that fires more often than that has short gaps anyway). For a notifier whose alerts
    must outlive the time until the next run (Alertmanager's ``endsAt``)."""
    trigger = cron_trigger(expr, timezone)
    start = datetime(2026, 1, 5, tzinfo=ZoneInfo(timezone))  # a Monday, outside DST changes
    fire = trigger.get_next_fire_time(None, start)
    longest = timedelta(0)
    for _ in range(GAP_STEPS):
        following = None if fire is None else trigger.get_next_fire_time(fire, fire + _TICK)
        if fire is None or following is None:
            break
        longest = max(longest, following - fire)
        if following - start > span:
            break
        fire = following
    return longest or span


def scheduled_slot(config: Config, now: datetime) -> str | None:
    """The fire time of the schedule this run belongs to (the latest one not after ``now``),
    as a UTC ISO string; None for a run off the schedule (``--run-now``).

    Two instances with the same schedule compute the same slot, which the state store
    hands to one of them only. APScheduler 3 does not give a job its fire time, and cron
    triggers cannot step backwards, so step forward through growing look-back windows.
    """
    trigger = cron_trigger(config.schedule, config.timezone)
    for window in SLOT_WINDOWS:
        fire = trigger.get_next_fire_time(None, now - window)
        latest = None
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
        if latest is not None:
            return str(latest.astimezone(UTC).isoformat(timespec="seconds"))
    return None
