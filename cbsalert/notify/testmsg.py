"""Sample alerts, template validation and ``test-notify``: catching a template typo at
``cbsalert validate`` time rather than at 3 a.m.

The samples are every rule kind's own (``RuleBase.samples``: every state, alerts with null
fields) plus hostile variations of them (markup, Slack formatting characters, Windows paths,
newlines, 10,000-character names, unreadable counts) and an alert of an unknown kind, so
that a template which breaks on any of them fails validation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cbsalert import render
from cbsalert.catchup import yesterday
from cbsalert.errors import ConfigError
from cbsalert.model import UNKNOWN, AlertEvent, Finding
from cbsalert.notify.context import MessageContext, build_context
from cbsalert.rules import ALL_KINDS, CbsUnreachableRule
from cbsalert.rules.builtin import SAMPLE_SERVER
from cbsalert.samplerun import replay

if TYPE_CHECKING:
    from cbsalert.config import Config

HOSTILE_LOGIN = "<!channel> & @here *bold*"
HOSTILE_NAME = "C:\\Users\\Ann\\Documents\\*.pst <b>bold</b> & *star* _under_ ~strike~ `tick`"
HOSTILE_SUMMARY = "Backup failed.\nSubject: forged\n<script>alert(1)</script> <!channel> & <@U123>"
LONG = "x" * 10_000


def _events(now: datetime, zone: ZoneInfo, hostile: bool) -> list[AlertEvent]:
    """Every kind's sample alerts about yesterday; with ``hostile``, a hostile variation of
    each kind's first sample and an alert of a kind this version does not know."""
    evening = _evening(now, zone)
    day = evening.date()
    samples = [kind.samples(evening) for kind in ALL_KINDS.values()]
    events = [event for of_kind in samples for event in of_kind]
    if hostile:
        events += [_hostile(of_kind[0]) for of_kind in samples]
        unknown = Finding(
            rule="sample-unknown_future_kind", kind="unknown_future_kind", severity="info",
            firing=True, login="_x_", day=day, summary=LONG + "\n" + HOSTILE_SUMMARY,
            backup_set_id=HOSTILE_NAME, destination_id=LONG,
        )  # fmt: skip
        events.append(replay(unknown, "firing", evening, days=2))
    return events


def _evening(now: datetime, zone: ZoneInfo) -> datetime:
    """22:15 yesterday: the samples' backups ran then."""
    day = yesterday(now, zone)
    return datetime(day.year, day.month, day.day, 22, 15, tzinfo=zone)


def _hostile(event: AlertEvent) -> AlertEvent:
    """The sample with hostile data in every field it has: markup, Slack formatting and
    mentions, a Windows path, a forged line, 10,000 characters, a count that cannot be read
    and a huge one."""
    f = event.finding
    finding = replace(
        f,
        login=HOSTILE_LOGIN,
        owner=LONG,
        summary=HOSTILE_SUMMARY,
        backup_set_name=HOSTILE_NAME if f.backup_set_id or f.backup_set_name else None,
        job_id=LONG if f.job_id is not None else None,
        destination_name=HOSTILE_NAME if f.destination_name is not None else None,
        status=f"{f.status}<i>ERR</i>" if f.status is not None else None,
        errors=UNKNOWN if f.errors is not None else None,
        warnings=10**9 if f.warnings is not None else None,
    )
    return replace(event, finding=finding)


def sample_context(
    now: datetime,
    timezone: str = "UTC",
    *,
    test: bool = False,
    hostile: bool = False,
    server: str = SAMPLE_SERVER,
    console_url: str | None = None,
) -> MessageContext:
    """Realistic sample alerts (``hostile=True`` adds the nasty ones) as a message context,
    from ``server`` (``cbs.name``) with its ``console_url``."""
    zone = ZoneInfo(timezone)
    events = _events(now, zone, hostile)
    day = events[0].finding.day
    # The hostile samples also say that two watched users could not be checked.
    unchecked = 2 if hostile else 0
    return build_context(
        day, timezone, events, now.astimezone(zone), test=test, unchecked=unchecked,
        server=server, console_url=console_url,
    )  # fmt: skip


# Keys a message queued by an older cbsalert lacks: templates must do without them.
NEWER_RUN_KEYS = ("days", "days_not_checked", "server", "console_url", "backups_checked")
NEWER_ALERT_KEYS = ("first_failed_day", "about_server", "console_url", "silence_command")


def _unusable(now: datetime, timezone: str, server: str, console_url: str | None) -> MessageContext:
    """A run that could not use the CBS: the meta-alert alone, no backup checked."""
    zone = ZoneInfo(timezone)
    events = CbsUnreachableRule.samples(_evening(now, zone))
    return build_context(
        events[0].finding.day, timezone, events, now.astimezone(zone), unchecked=3,
        server=server, console_url=console_url, backups_checked=False,
    )  # fmt: skip


def _contexts(
    now: datetime, timezone: str, server: str, console_url: str | None
) -> dict[str, MessageContext]:
    sample = sample_context(now, timezone, server=server, console_url=console_url)
    hostile = sample_context(now, timezone, hostile=True, server=server, console_url=console_url)
    many = dict(hostile, alerts=[dict(a, login=f"user{i}") for i, a in enumerate(
        hostile["alerts"] * 8)])  # fmt: skip
    first = date.fromisoformat(sample["run"]["date"]) - timedelta(days=2)
    caught_up = [str(first + timedelta(days=n)) for n in range(3)]
    older = [str(first - timedelta(days=n)) for n in range(5, 0, -1)]
    legacy = {k: v for k, v in sample["run"].items() if k not in NEWER_RUN_KEYS}
    legacy_alerts = [
        {k: v for k, v in a.items() if k not in NEWER_ALERT_KEYS} for a in sample["alerts"]
    ]
    return {
        "sample alerts": sample,
        "several days (a catch-up)": dict(
            sample, run={**sample["run"], "days": caught_up, "days_not_checked": older}
        ),
        "a message queued by an older cbsalert": dict(sample, run=legacy, alerts=legacy_alerts),
        "the CBS cannot be used": _unusable(now, timezone, server, console_url),
        "hostile data": hostile,
        "one alert": dict(sample, alerts=sample["alerts"][:1]),
        "one resolved alert": dict(sample, alerts=sample["alerts"][-1:]),
        "no alerts": dict(sample, alerts=[]),
        "a test message": sample_context(now, timezone, test=True, server=server),
        "a large digest": many,
    }


def validate_templates(config: Config) -> list[str]:
    """Render every notifier's messages from the samples; one line per distinct problem."""
    now = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(config.timezone))
    contexts = _contexts(now, config.timezone, config.cbs.name, config.cbs.console_url)
    problems: list[str] = []
    for name, notifier_config in config.notifiers.items():
        notifier = notifier_config.create(name)
        seen: set[str] = set()
        try:
            for label, context in contexts.items():
                try:
                    notifier.render(context)
                except render.TemplateError as exc:
                    if str(exc) not in seen:
                        seen.add(str(exc))
                        problems.append(f"notifiers.{name}: {exc} (rendering {label})")
        finally:
            notifier.close()
    from cbsalert.reports.render import template_problems  # the reports' own templates

    return problems + template_problems(config)


def check_templates(config: Config) -> None:
    """Raise ``ConfigError`` listing every template problem: a broken template is a config
    error found before a run (check, validate, serve and its reloads), not a delivery
    failure at 7 a.m."""
    problems = validate_templates(config)
    if problems:
        raise ConfigError(f"{config.source}: template problems", problems=problems)


def send_test(config: Config, name: str, now: datetime) -> None:
    """Send a message marked TEST with the sample alerts through one notifier.

    Raises ``ConfigError`` for an unknown name and ``DeliveryError`` as ``send`` does.
    """
    if name not in config.notifiers:
        known = ", ".join(sorted(config.notifiers)) or "none"
        raise ConfigError(f"no notifier named {name!r} (known: {known})")
    notifier = config.notifiers[name].create(name)
    try:
        cbs = config.cbs
        context = sample_context(
            now, config.timezone, test=True, server=cbs.name, console_url=cbs.console_url
        )
        notifier.send(context)
    finally:
        notifier.close()
