"""The sample alerts of ``validate`` and ``test-notify`` come from the real reconciliation
(issue 17.1): they cannot look right while real messages are wrong."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cbsalert import alertstep
from cbsalert.model import Finding
from cbsalert.notify import testmsg
from cbsalert.samplerun import replay

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))
EVENING = datetime(2026, 11, 22, 22, 15, tzinfo=ZoneInfo(ZONE))


def test_every_sample_counts_its_days_from_its_first_failed_day() -> None:
    alerts = testmsg.sample_context(NOW, ZONE, hostile=True)["alerts"]
    for alert in alerts:
        first, days = date.fromisoformat(alert["first_failed_day"]), alert["days_failing"]
        last = date.fromisoformat(alert["date"]) - timedelta(
            days=1 if alert["state"] == "resolved" else 0
        )
        assert first + timedelta(days=days - 1) == last, alert["rule"]
    shown = {(a["kind"], a["state"], a["days_failing"]) for a in alerts}
    assert {("missing_backup", "repeat", 3), ("backup_status", "resolved", 3)} <= shown


def test_a_change_to_how_real_alerts_count_days_changes_the_samples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(alertstep, "_days_failing", lambda snap, day: 99)
    alerts = testmsg.sample_context(NOW, ZONE)["alerts"]
    assert {a["days_failing"] for a in alerts} == {99}


def test_a_sample_asking_for_what_cannot_happen_is_refused() -> None:
    finding = Finding(
        rule="r", kind="backup_status", severity="critical", firing=True, login="u",
        day=EVENING.date(), summary="failed",
    )  # fmt: skip
    assert replay(finding, "repeat", EVENING, days=3).days_failing == 3
    with pytest.raises(ValueError, match="asks for 'new', reconciliation says firing"):
        replay(finding, "new", EVENING, days=3)
