"""Sample alerts made the way real ones are: findings run through reconciliation.

The sample alerts of ``cbsalert validate`` and ``test-notify`` (``RuleBase.samples``) say
what they show ("a reminder, failing for 3 days"); the event itself, with its
``first_failed_day``, ``days_failing``, ``since`` and ``previous_severity``, comes from
``reconcile_days``, the code that makes real messages, run over those days against a
throwaway state (a dict of stored alerts, as ``AlertStore`` would load them). So a sample
cannot look right while a real message is wrong: a change to how a real alert counts its
days changes the samples too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import ClassVar, Literal

from cbsalert.catchup import DayEvidence, reconcile_days
from cbsalert.model import AlertEvent, AlertState, Finding, Severity, UserSnapshot
from cbsalert.reconcile import ActiveSilence, AlertSnapshot
from cbsalert.rules import RuleBase

# Each sample's check runs the morning after its backup day (the evening is 22:15).
CHECK_AFTER = timedelta(hours=9)
_NOTIFIER = "sample"


class _SampleRule(RuleBase):
    """The sample finding's rule as reconciliation sees it: who hears, how often."""

    kind: Literal["sample"] = "sample"
    hint: ClassVar[str] = ""

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        return []


def replay(
    finding: Finding,
    state: AlertState,
    evening: datetime,
    *,
    days: int | None = None,
    previous: Severity | None = None,
) -> AlertEvent:
    """The event a real run makes of ``finding`` (about the day of ``evening``) when its
    alert has been failing for ``days`` backup days, the last one ``finding``'s (for a
    ``resolved`` one, the days before it) and people last heard ``previous``:

    * ``new``: one day; ``repeat``: daily reminders; ``firing``: no reminders;
    * ``escalated``: ``previous`` until the last day; ``repeat`` with ``previous``: a
      reminder after the alert eased from ``previous``;
    * ``unsilenced``: silenced until the last day's check;
    * ``resolved``: ``finding`` is the clear evidence that ends it.

    Raises ``ValueError`` when reconciliation does not give ``state``: the sample asks for
    what cannot happen (a ``new`` alert failing for 3 days)."""
    firing_days = max(days or 1, 2 if state in ("firing", "escalated", "unsilenced") else 1)
    last = evening.date() - timedelta(days=1 if state == "resolved" else 0)
    first = last - timedelta(days=firing_days - 1)
    rule = _SampleRule(
        id=finding.rule, severity=finding.severity, notify=[_NOTIFIER],
        repeat_interval=timedelta(days=1) if state == "repeat" else None,
    )  # fmt: skip
    stored: dict[str, AlertSnapshot] = {}
    silences: list[ActiveSilence] = []
    if state == "unsilenced":
        until = _check_time(evening, last - timedelta(days=1)) + timedelta(minutes=1)
        silences.append(ActiveSilence(0, finding.rule, finding.login, None, until))
    events: list[AlertEvent] = []
    for n in range(firing_days):
        day = first + timedelta(days=n)
        severity = previous if previous is not None and day < last else finding.severity
        fired = replace(finding, day=day, firing=True, severity=severity)
        events = _run(fired, rule, stored, silences, _check_time(evening, day))
    if state == "resolved":
        events = _run(finding, rule, stored, silences, _check_time(evening, evening.date()))
    event = next((e for e in events if e.finding.key == finding.key), None)
    if event is None or event.state != state:
        got = event.state if event is not None else "nothing"
        raise ValueError(f"sample {finding.rule} asks for {state!r}, reconciliation says {got}")
    return event


def _check_time(evening: datetime, day: date) -> datetime:
    """The morning check of ``day``'s backups, in ``evening``'s zone."""
    return datetime.combine(day, evening.timetz()) + CHECK_AFTER


def _run(
    finding: Finding,
    rule: RuleBase,
    stored: dict[str, AlertSnapshot],
    silences: list[ActiveSilence],
    now: datetime,
) -> list[AlertEvent]:
    """One check: its finding reconciled with ``stored``, which then holds the outcome."""
    evidence = DayEvidence(finding.day, [finding], checked_logins={finding.login})
    events, changes = reconcile_days([evidence], stored, {rule.id: rule}, silences, now=now)
    stored.update((c.after.key, c.after) for c in changes)
    return events
