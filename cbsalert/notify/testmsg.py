"""Sample alerts, template validation and ``test-notify``: catching a template typo at
``cbsalert validate`` time rather than at 3 a.m.

The samples cover every rule kind and state, alerts with null fields, and hostile strings
(markup, Slack formatting characters, Windows paths, newlines, 10,000-character names), so
that a template which breaks on any of them fails validation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cbsalert import render
from cbsalert.errors import ConfigError
from cbsalert.model import UNKNOWN, AlertEvent, AlertState, Finding, Severity
from cbsalert.notify import MessageContext, build_context

if TYPE_CHECKING:
    from cbsalert.config import Config

HOSTILE_NAME = "C:\\Users\\Ann\\Documents\\*.pst <b>bold</b> & *star* _under_ ~strike~ `tick`"
HOSTILE_SUMMARY = "Backup failed.\nSubject: forged\n<script>alert(1)</script> <!channel> & <@U123>"
LONG = "x" * 10_000


def _events(now: datetime, zone: ZoneInfo, hostile: bool) -> list[AlertEvent]:
    day = (now.astimezone(zone) - timedelta(days=1)).date()
    evening = datetime(day.year, day.month, day.day, 22, 15, tzinfo=zone)

    def event(
        kind: str,
        severity: Severity,
        state: AlertState,
        summary: str,
        days: int | None = None,
        previous: Severity | None = None,
        **fields: Any,
    ) -> AlertEvent:
        finding = Finding(
            rule=f"sample-{kind}", kind=kind, severity=severity, firing=state != "resolved",
            login=fields.pop("login", "example-user"), day=day, summary=summary, **fields,
        )  # fmt: skip
        since = evening - timedelta(days=days - 1) if days else None
        return AlertEvent(
            finding, state, since=since, days_failing=days, previous_severity=previous
        )

    job: dict[str, Any] = {
        "backup_set_id": "1700000000001", "destination_id": "-1700000000002",
        "job_id": (evening).strftime("%Y-%m-%d-%H-%M-%S"), "start_time": evening,
    }  # fmt: skip
    events = [
        event(
            "backup_status", "critical", "new",
            "Backup of 'Documents (daily)' failed with BS_STOP_BY_SYSTEM_ERROR.",
            days=1, owner="Example Owner", backup_set_name="Documents (daily)",
            status="BS_STOP_BY_SYSTEM_ERROR", errors=12, warnings=3,
            end_time=evening + timedelta(minutes=85), **job,
        ),
        event(
            "missing_backup", "critical", "repeat",
            f"No S backup of 'Mail archive' ran on {day.isoformat()}.",
            days=3, backup_set_id="1700000000003", backup_set_name="Mail archive",
        ),
        event(
            "missing_backup", "critical", "new",
            f"No S backup job at all for example-laptop on {day.isoformat()}.",
            days=1, login="example-laptop",
        ),
        event(
            "error_count", "warning", "escalated",
            "Backup of 'Projects' logged 4 errors (more than 0).", previous="info", days=2,
            login="example-office", backup_set_name="Projects", status="BS_STOP_SUCCESS",
            errors=4, warnings=0, end_time=evening + timedelta(hours=3), **job,
        ),
        event(
            "long_running", "warning", "new",
            "Backup of 'VM images' still running after 9.5 h (limit 8 h) (1200 of 5000 files).",
            login="example-server", backup_set_name="VM images", status="", **job,
        ),
        event(
            "restore_status", "warning", "unsilenced",
            "Restore from 'Documents (daily)' failed with RESTORE_STOP_BY_ERROR.", days=3,
            backup_set_id="1700000000001", backup_set_name="Documents (daily)",
            job_id="R-2026-0001", status="RESTORE_STOP_BY_ERROR",
            start_time=evening - timedelta(hours=6),
            end_time=evening - timedelta(hours=5, minutes=50),
        ),
        event(
            "warning_count", "info", "repeat",
            "Backup of 'Photos' logged 2 warnings (more than 0).", days=2,
            login="example-office", backup_set_name="Photos",
            status="BS_STOP_SUCCESS_WITH_WARNING", errors=0, warnings=2,
            end_time=evening + timedelta(minutes=20), **job,
        ),
        event(
            "backup_status", "critical", "resolved", "Backup of 'Finance' succeeded.",
            login="example-office", backup_set_name="Finance", status="BS_STOP_SUCCESS",
            errors=0, warnings=0, end_time=evening + timedelta(minutes=40), **job,
        ),
    ]  # fmt: skip
    if hostile:
        events += [
            event(
                "backup_status", "critical", "new", HOSTILE_SUMMARY, days=2,
                login="<!channel> & @here *bold*", owner=LONG, backup_set_name=HOSTILE_NAME,
                status="BS_<i>ERR</i>", errors=10**9, warnings=None, job_id=LONG, **{
                    k: v for k, v in job.items() if k != "job_id"
                },
            ),
            event(
                "error_count", "warning", "new",
                "Backup of 'Projects': its error count cannot be read.", login="example-office",
                backup_set_name="Projects", errors=UNKNOWN, warnings=3, **job,
            ),
            event(
                "user_unchecked", "warning", "new",
                "cbsalert could not check <@U123> (none of its backups were checked): "
                f"ListBackupSets: {HOSTILE_SUMMARY}", days=1, login="<@U123>", owner=HOSTILE_NAME,
            ),
            event(
                "unknown_future_kind", "info", "firing", LONG + "\n" + HOSTILE_SUMMARY,
                login="_x_", backup_set_id=HOSTILE_NAME, destination_id=LONG,
            ),
        ]  # fmt: skip
    return events


def sample_context(
    now: datetime, timezone: str = "UTC", *, test: bool = False, hostile: bool = False
) -> MessageContext:
    """Realistic sample alerts (``hostile=True`` adds the nasty ones) as a message context."""
    zone = ZoneInfo(timezone)
    events = _events(now, zone, hostile)
    day = events[0].finding.day
    # The hostile samples also say that two watched users could not be checked.
    unchecked = 2 if hostile else 0
    return build_context(
        day, timezone, events, now.astimezone(zone), test=test, unchecked=unchecked
    )


def _contexts(now: datetime, timezone: str) -> dict[str, MessageContext]:
    sample = sample_context(now, timezone)
    hostile = sample_context(now, timezone, hostile=True)
    many = dict(hostile, alerts=[dict(a, login=f"user{i}") for i, a in enumerate(
        hostile["alerts"] * 8)])  # fmt: skip
    first = date.fromisoformat(sample["run"]["date"]) - timedelta(days=2)
    caught_up = [str(first + timedelta(days=n)) for n in range(3)]
    older = [str(first - timedelta(days=n)) for n in range(5, 0, -1)]
    legacy = {k: v for k, v in sample["run"].items() if k not in ("days", "days_not_checked")}
    return {
        "sample alerts": sample,
        "several days (a catch-up)": dict(
            sample, run={**sample["run"], "days": caught_up, "days_not_checked": older}
        ),
        "a message queued by an older cbsalert": dict(sample, run=legacy),
        "hostile data": hostile,
        "one alert": dict(sample, alerts=sample["alerts"][:1]),
        "one resolved alert": dict(sample, alerts=sample["alerts"][-1:]),
        "no alerts": dict(sample, alerts=[]),
        "a test message": sample_context(now, timezone, test=True),
        "a large digest": many,
    }


def validate_templates(config: Config) -> list[str]:
    """Render every notifier's messages from the samples; one line per distinct problem."""
    now = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(config.timezone))
    contexts = _contexts(now, config.timezone)
    problems: list[str] = []
    for name, notifier_config in config.notifiers.items():
        notifier = notifier_config.create(name)
        preview: Callable[[MessageContext], object] | None = getattr(notifier, "render", None)
        if preview is None:
            continue
        seen: set[str] = set()
        try:
            for label, context in contexts.items():
                try:
                    preview(context)
                except render.TemplateError as exc:
                    if str(exc) not in seen:
                        seen.add(str(exc))
                        problems.append(f"notifiers.{name}: {exc} (rendering {label})")
        finally:
            notifier.close()
    return problems


def send_test(config: Config, name: str, now: datetime) -> None:
    """Send a message marked TEST with the sample alerts through one notifier.

    Raises ``ConfigError`` for an unknown name and ``DeliveryError`` as ``send`` does.
    """
    if name not in config.notifiers:
        known = ", ".join(sorted(config.notifiers)) or "none"
        raise ConfigError(f"no notifier named {name!r} (known: {known})")
    notifier = config.notifiers[name].create(name)
    try:
        notifier.send(sample_context(now, config.timezone, test=True))
    finally:
        notifier.close()
