"""What every rule kind offers the rest of cbsalert, one row per kind: the status ladder,
auto-resolve, the hint, the samples; and that a new kind is one class and one row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from cbsalert import render, rules
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.model import AlertEvent, Finding, UserSnapshot
from cbsalert.notify import testmsg
from cbsalert.reconcile import AlertSnapshot, reconcile_findings
from cbsalert.rules import ALL_KINDS, BUILTIN_KINDS, RULE_KINDS, RuleBase
from tests.state_helpers import applied, day, morning
from tests.test_render import EMAIL, SLACK, make_config
from tests.test_rules import NOW, job, restore, rule, snap

# -- one row per kind: its hooks ------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    kind: str
    configurable: bool  # usable in a config's rules: (not a built-in alert)
    hint_says: str  # words of what its hint tells people to do
    what: str  # what happened, as a message's summary counts it
    resolves_by_itself_after: int | None  # days without a new failure (default config)
    config: dict[str, Any] = field(default_factory=dict)  # required options


ROWS = [
    Row("backup_status", True, "rerun the job", "failed", None),
    Row("error_count", True, "were not backed up", "with errors", None),
    Row("warning_count", True, "locked or skipped", "with warnings", None),
    Row("missing_backup", True, "backup schedule", "did not run", None),
    Row("restore_status", True, "whether the restore has to be repeated", "restore failed", 7),
    Row("long_running", True, "stuck", "running too long", None, {"max_hours": 8}),
    Row("no_change", True, "is mounted", "changed nothing", None),
    Row("change_spike", True, "ransomware", "changed unusually", None),
    Row("duration", True, "schedule moved", "slower than usual", None),
    Row("cbs_unreachable", False, "system user and password", "CBS unreachable", None),
    Row("user_unchecked", False, "watch list", "not checked", None),
    Row("selection_unresolved", False, "login: entries", "selection unresolved", None),
]
BY_KIND = pytest.mark.parametrize("row", ROWS, ids=[r.kind for r in ROWS])


def make(row: Row) -> RuleBase:
    if row.configurable:
        return rule(kind=row.kind, **row.config)
    return ALL_KINDS[row.kind](id=f"builtin-{row.kind}")


def test_there_is_a_row_for_every_kind_and_only_rule_kinds_are_configurable() -> None:
    assert sorted(r.kind for r in ROWS) == sorted(ALL_KINDS)
    assert [r.kind for r in ROWS if r.configurable] == list(RULE_KINDS)
    assert [r.kind for r in ROWS if not r.configurable] == list(BUILTIN_KINDS)


@BY_KIND
def test_a_built_in_kind_cannot_be_used_in_rules(row: Row) -> None:
    if row.configurable:
        assert make(row).kind == row.kind
        return
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        rule(kind=row.kind)


@BY_KIND
def test_every_kind_says_what_to_do_in_every_template(row: Row) -> None:
    hint = ALL_KINDS[row.kind].hint
    assert row.hint_says in hint
    assert rules.hint({"kind": row.kind, "state": "new"}) == hint
    env = render.environment(render.TEXT)
    shown = env.from_string("{{ hints[kind] }}|{{ alert|hint }}").render(
        kind=row.kind, alert={"kind": row.kind, "state": "repeat"}
    )
    assert shown == f"{hint}|{hint}"


@BY_KIND
def test_every_kind_says_what_happened_for_the_summary_counts(row: Row) -> None:
    assert rules.what_happened(row.kind) == ALL_KINDS[row.kind].what == row.what


@BY_KIND
def test_only_a_kind_that_says_so_resolves_by_itself(row: Row) -> None:
    fired = date(2026, 11, 1)
    made = make(row)
    days = row.resolves_by_itself_after
    if days is None:
        assert made.auto_resolution(fired, fired + timedelta(days=3650)) is None
        return
    assert made.auto_resolution(fired, fired + timedelta(days=days - 1)) is None
    summary = made.auto_resolution(fired, fired + timedelta(days=days))
    assert summary is not None and f"{days} days" in summary


@BY_KIND
def test_every_kind_has_sample_alerts_of_its_own_kind(row: Row) -> None:
    evening = datetime(2026, 11, 22, 22, 15, tzinfo=ZoneInfo("Europe/Amsterdam"))
    samples = ALL_KINDS[row.kind].samples(evening)
    assert samples
    assert {e.finding.kind for e in samples} == {row.kind}
    assert all(e.finding.day == date(2026, 11, 22) and e.finding.summary for e in samples)


@BY_KIND
def test_validate_renders_every_kinds_samples_with_hostile_strings(
    row: Row, tmp_path: Path
) -> None:
    template = tmp_path / "alert.mrkdwn.j2"
    # Breaks on the hostile variation of this kind's sample only, naming the kind.
    template.write_text(
        "{{ alert.summary }}{% if alert.kind == '"
        + row.kind
        + "' and alert.login == '"
        + testmsg.HOSTILE_LOGIN
        + "' %}{{ alert['hostile_' ~ alert.kind] }}{% endif %}"
    )
    config = make_config({"chat": {**SLACK, "template": str(template)}})

    problems = testmsg.validate_templates(config)

    assert problems and all(f"no attribute 'hostile_{row.kind}'" in p for p in problems)


# -- the status ladder, shared by the kinds that judge a status -------------------------------

LADDER = [
    # (kind, an ok status, a warning status, a status it does not know)
    ("backup_status", "BS_STOP_SUCCESS", "BS_STOP_SUCCESS_WITH_WARNING", "BS_STOP_BY_X"),
    ("restore_status", "RESTORE_STOP_SUCCESS", "RESTORE_STOP_SUCCESS_WITH_WARNING", "R_X"),
]


def _judge(kind: str, status: str, **fields: object) -> list[tuple[bool, str, str]]:
    record = {"restores": [restore(status=status)]} if kind == "restore_status" else {}
    jobs = [] if kind == "restore_status" else [job(status=status)]
    found = rule(kind=kind, severity="critical", **fields).evaluate(snap(jobs, **record), NOW)
    return [(f.firing, f.severity, f.summary) for f in found]


@pytest.mark.parametrize(("kind", "ok", "warning", "unknown"), LADDER)
def test_every_status_kind_climbs_the_same_ladder(
    kind: str, ok: str, warning: str, unknown: str
) -> None:
    what = "Restore from" if kind == "restore_status" else "Backup of"
    assert _judge(kind, ok) == [(False, "critical", f"{what} 'Documents' succeeded.")]
    assert _judge(kind, warning) == [
        (True, "warning", f"{what} 'Documents' completed with warnings ({warning}).")
    ]
    # A status cbsalert has no words for is shown as itself, and fails: never success.
    assert _judge(kind, unknown) == [
        (True, "critical", f"{what} 'Documents' failed with status {unknown}.")
    ]


def test_a_finished_restore_with_an_empty_status_says_so() -> None:
    # "" is a running status by default; a rule that does not say so judges it, and its
    # summary names the empty status instead of ending in "failed with ."
    assert _judge("restore_status", "", running_statuses=["RESTORE_STILL_RUNNING"]) == [
        (True, "critical", "Restore from 'Documents' failed with an empty status.")
    ]


# -- a kind of the tests' own: what adding a kind takes -------------------------------------


class QuotaRule(RuleBase):
    """A kind only the tests know: a user over its storage quota. Its alerts resolve by
    themselves after ``quiet_days`` without new evidence."""

    kind: Literal["quota"] = "quota"
    hint: ClassVar[str] = "Raise the user's quota in AhsayCBS, or ask them to clean up."
    what: ClassVar[str] = "over quota"
    quiet_days: int = 2

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        return [cls.sample(evening, "new", "warning", "example-user is over its quota.")]

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        return [self.finding(snap, True, f"{snap.login} is over its quota.")]

    def auto_resolution(self, last_fired_day: date, day: date) -> str | None:
        quiet = (day - last_fired_day).days
        return f"Quiet for {quiet} days." if quiet >= self.quiet_days else None


@pytest.fixture
def quota_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one row that adds the kind."""
    monkeypatch.setitem(RULE_KINDS, "quota", QuotaRule)


def test_a_new_kind_is_one_class_and_one_row_its_samples_are_validated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    template = tmp_path / "alert.mrkdwn.j2"
    # A template that breaks on the new kind's alerts only.
    template.write_text(
        "{{ alert.summary }}{% if alert.kind == 'quota' %}{{ alert.quota }}{% endif %}"
    )
    config = make_config({"chat": {**SLACK, "template": str(template)}})
    assert testmsg.validate_templates(config) == []

    monkeypatch.setitem(RULE_KINDS, "quota", QuotaRule)  # the one row
    problems = testmsg.validate_templates(config)

    assert problems and all("'dict object' has no attribute 'quota'" in p for p in problems)


def test_a_new_kind_says_what_to_do_in_the_messages_of_its_samples(
    quota_kind: None, smtp: SmtpSink
) -> None:
    context = testmsg.sample_context(NOW, "UTC")
    [quota] = [a for a in context["alerts"] if a["kind"] == "quota"]
    assert quota["summary"] == "example-user is over its quota."
    config = make_config({"mail": {**EMAIL, "smtp_host": "127.0.0.1", "smtp_port": smtp.port}})

    testmsg.send_test(config, "mail", NOW)

    text = smtp.messages[0].get_body(("plain",))
    assert text is not None
    assert f"What to do: {QuotaRule.hint}" in text.get_content()


def test_reconcile_asks_the_rule_whether_its_alert_resolves_by_itself() -> None:
    rule = QuotaRule(id="quota", notify=["ops"])
    rules = {rule.id: rule}
    finding = rule.evaluate(snap(login="alice", day=day(1)), NOW)[0]
    stored: dict[str, AlertSnapshot] = {}
    for n, findings in ((1, [finding]), (2, []), (3, [])):
        events, changes = reconcile_findings(
            findings, stored, rules, [], day=day(n), now=morning(n), checked_logins={"alice"}
        )
        stored = applied(stored, changes)
        if n == 2:
            assert [e.state for e in events] == ["firing"]
    assert [(e.state, e.finding.summary) for e in events] == [("resolved", "Quiet for 2 days.")]
    assert stored[finding.key].state == "resolved"
