"""The message model: one entry per backup set and destination, the summary, the headline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import build_context, digest

DAY = date(2026, 11, 28)  # a Saturday
NOW = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)


def event(login: str, rule: str, kind: str, severity: Any = "critical", state: Any = "new",
          set_id: str | None = "1", set_name: str | None = "Files", owner: str = "",
          dest: str | None = None, summary: str = "it broke") -> AlertEvent:  # fmt: skip
    finding = Finding(
        rule=rule, kind=kind, severity=severity, firing=state != "resolved", login=login,
        day=DAY, owner=owner, backup_set_id=set_id, backup_set_name=set_name,
        destination_id=dest, summary=summary,
    )  # fmt: skip
    return AlertEvent(finding, state)


def message(events: list[AlertEvent], limit: int | None = None) -> dict[str, Any]:
    return digest.message(build_context(DAY, "UTC", events, NOW, limit=limit))


def test_a_failed_job_that_logged_an_error_is_one_entry_most_severe_first() -> None:
    msg = message([
        event("acme", "errors", "error_count", "warning", summary="logged 1 error"),
        event("zeta", "missed", "missing_backup", "warning", set_id="9", set_name="Mail"),
        event("acme", "failed", "backup_status", summary="the backup failed"),
    ])  # fmt: skip
    entries = msg["entries"]
    assert [(e["login"], [a["rule"] for a in e["alerts"]]) for e in entries] == [
        ("acme", ["failed", "errors"]),
        ("zeta", ["missed"]),
    ]
    assert entries[0]["severity"] == "critical" and entries[0]["what"] == "failed"


def test_resolved_alerts_of_one_set_are_one_resolved_entry_after_the_firing_ones() -> None:
    msg = message([
        event("acme", "failed", "backup_status", state="resolved"),
        event("acme", "errors", "error_count", "warning", state="resolved"),
        event("zeta", "missed", "missing_backup", "warning", state="repeat"),
    ])  # fmt: skip
    assert [(e["login"], e["state"], len(e["alerts"])) for e in msg["entries"]] == [
        ("zeta", "repeat", 1),
        ("acme", "resolved", 2),
    ]


def test_destinations_of_one_set_are_separate_entries() -> None:
    msg = message([
        event("acme", "failed", "backup_status", dest="11"),
        event("acme", "failed", "backup_status", dest="22"),
    ])  # fmt: skip
    assert [e["destination_id"] for e in msg["entries"]] == ["11", "22"]


def test_the_headline_names_the_worst_then_counts_the_rest() -> None:
    msg = message([
        event("acme-fs", "failed", "backup_status", set_name="File server D:"),
        event("lawfirm", "failed", "backup_status", set_id="2", set_name="Exchange"),
        event("dental", "failed", "backup_status", set_id="3", set_name="PCs"),
        event("zeta", "missed", "missing_backup", "warning", set_id="4"),
        event("yeti", "missed", "missing_backup", "warning", set_id="5"),
        event("old", "missed", "missing_backup", "warning", set_id="6", state="resolved"),
    ])  # fmt: skip
    assert msg["headline"] == (
        "🔴 3 critical — acme-fs (File server D:), dental (PCs) +1 · 2 warnings · 1 resolved"
        " · backups of Sat 28 Nov"
    )


def test_a_single_alert_is_named_with_what_happened() -> None:
    msg = message([event("acme", "failed", "backup_status", summary="the backup failed")])
    assert msg["headline"] == "🔴 acme (Files): the backup failed · backups of Sat 28 Nov"


def test_only_resolved_entries_say_so() -> None:
    msg = message([
        event("acme", "failed", "backup_status", state="resolved"),
        event("zeta", "failed", "backup_status", set_id="2", set_name=None, state="resolved"),
    ])  # fmt: skip
    assert msg["headline"] == "✅ 2 resolved — acme (Files), zeta (set 2) · backups of Sat 28 Nov"


def test_the_summary_counts_by_what_happened_and_over_ten_by_owner() -> None:
    events = [
        event(f"r1-{i:02}", "failed", "backup_status", owner="reseller1", set_id=str(i))
        for i in range(9)
    ]
    events += [event("solo", "missed", "missing_backup", "warning", owner="reseller2")]
    small = build_context(DAY, "UTC", events, NOW)["run"]["summary"]
    assert small["what"] == [
        {"what": "failed", "count": 9, "severity": "critical"},
        {"what": "did not run", "count": 1, "severity": "warning"},
    ]
    assert small["owners"] == []  # ten entries: the list says it all
    events.append(event("r1-x", "failed", "backup_status", owner="reseller1", set_id="x"))
    big = build_context(DAY, "UTC", events, NOW)["run"]["summary"]
    assert big["owners"] == [
        {"owner": "reseller1", "count": 10},
        {"owner": "reseller2", "count": 1},
    ]


def test_a_limit_lists_whole_entries_and_says_what_was_left_out() -> None:
    events = [
        event("acme", "failed", "backup_status"),
        event("acme", "errors", "error_count", "warning"),
        event("bravo", "missed", "missing_backup", "warning", set_id="2"),
        event("charlie", "missed", "missing_backup", "warning", set_id="3"),
    ]
    context = build_context(DAY, "UTC", events, NOW, limit=1)
    assert [a["rule"] for a in context["alerts"]] == ["failed", "errors"]
    assert context["run"]["omitted"] == 2
    left = context["run"]["summary"]["left_out"]
    assert left["entries"] == 2 and left["warning"] == 2 and left["critical"] == 0
    assert left["logins"] == ["bravo", "charlie"] and left["more_logins"] == 0
    assert left["what"] == [{"what": "did not run", "count": 2, "severity": "warning"}]
    assert digest.message(context)["headline"].startswith(
        "🔴 1 critical — acme (Files) · 2 warnings"
    )


def test_a_message_stored_before_the_summary_existed_still_has_a_headline() -> None:
    context = build_context(DAY, "UTC", [event("acme", "failed", "backup_status")], NOW)
    del context["run"]["summary"]
    context["run"].pop("days")
    assert digest.message(context)["headline"].startswith("🔴 acme (Files): it broke")
