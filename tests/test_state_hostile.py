"""Whatever the CBS sends is stored on SQLite and PostgreSQL alike (issue 14.1).

The same hostile records go through parsing, the rules and the state store on both backends
(the ``db_url`` fixture of state_helpers.py: PostgreSQL when CBSALERT_TEST_PG_URL is set): a set
name far longer than its column, set and destination ids longer than theirs, NUL and other
control characters, lone surrogates, the alert key's separator.
"""

from __future__ import annotations

from typing import Any

from cbsalert.model import Finding, JobResult, UserSnapshot
from cbsalert.records import BackupJob, BackupSet, Destination, JobReport, RestoreJob
from cbsalert.rules import RuleBase
from cbsalert.state import StateStore
from tests.state_helpers import (
    day,
    db_url,  # noqa: F401 - the fixture, parametrised over both backends
    morning,
    rules_of,
)
from tests.state_helpers import store as store  # the StateStore on it
from tests.test_rules import rule

LONG_ID = "1687505199600" * 30  # 390 characters
NAME = "Docs\x00\x1b[2J\u202e<b>" + "N" * 900 + "\ud800"
DEST = "\x00d" + "7" * 400
STATUS = "BS_STOP_BY_SYSTEM_ERROR\x00\n[/]"
RULES = rules_of(
    rule(kind="backup_status", id="failed"),
    rule(kind="missing_backup", id="missing"),
    rule(kind="restore_status", id="restore"),
)


def _job(set_id: str, start: str) -> dict[str, Any]:
    return {"BackupSetID": set_id, "BackupSetName": NAME, "StartTime": f"2026-11-22 {start}",
            "EndTime": f"2026-11-22 {start}", "BackupJobMode": "S"}  # fmt: skip


def hostile_snapshot() -> UserSnapshot:
    """Two sets whose ids differ only after 390 characters, each failed on a hostile
    destination; a third set that never ran; a failed restore of the first."""
    jobs = []
    for set_id, start in ((LONG_ID + "A", "20:00:00"), (LONG_ID + "B", "21:00:00")):
        record = BackupJob.model_validate(_job(set_id, start))
        report = JobReport.model_validate({"BackupJobStatus": STATUS, "NumOfErrorEntries": 1})
        destination = Destination.model_validate({"Id": DEST})
        jobs.append(JobResult(record, destination.id, report))
    sets = [BackupSet.model_validate({"ID": i, "Name": NAME}) for i in (LONG_ID + "A", "|x|")]
    restore = RestoreJob.model_validate(
        {"BackupSetID": LONG_ID + "A", "BackupSetName": NAME, "Status": STATUS, "ID": "r\x00",
         "StartTime": "2026-11-22 10:00:00", "EndTime": "2026-11-22 10:05:00"}
    )  # fmt: skip
    return UserSnapshot(
        login="alice", owner="", day=day(3), expected_sets={s.id: s.name for s in sets},
        sets_source="server", jobs=jobs, restores=[restore],
    )  # fmt: skip


def evaluate(snapshot: UserSnapshot, rules: dict[str, RuleBase]) -> list[Finding]:
    return [f for r in rules.values() for f in r.evaluate(snapshot, morning(4))]


def test_hostile_names_and_ids_are_stored_and_read_back(store: StateStore) -> None:
    snapshot = hostile_snapshot()
    findings = evaluate(snapshot, RULES)

    events = store.reconcile(
        findings, RULES, day=day(3), now=morning(3), checked_logins={"alice"}, plan=None
    )
    store.seen.record(day(3), {"alice": dict(snapshot.expected_sets)})

    assert {e.state for e in events} == {"new"}
    stored = store.list_alerts()
    # Two failed sets (one destination each), the set that never ran, the failed restore.
    assert len(stored) == len(events) == 4
    assert len({a["backup_set_id"] for a in stored}) == 3
    for alert in stored:
        for value in (alert["backup_set_id"], alert["destination_id"] or ""):
            assert len(value) <= 255 and "\x00" not in value
        assert len(alert["backup_set_name"]) <= 500
        assert not any(c in alert["summary"] for c in "\x00\x1b\n\u202e\ud800")
    assert set(store.seen.since(["alice"], day(0))["alice"]) == set(snapshot.expected_sets)


def test_hostile_alerts_resolve_on_a_later_good_day(store: StateStore) -> None:
    snapshot = hostile_snapshot()
    store.reconcile(
        evaluate(snapshot, RULES), RULES, day=day(3), now=morning(3), checked_logins={"alice"}
    )
    good = JobReport.model_validate({"BackupJobStatus": "BS_STOP_SUCCESS"})
    snapshot.day = day(4)
    snapshot.jobs = [JobResult(r.job, r.destination_id, good) for r in snapshot.jobs]
    snapshot.restores = []

    events = store.reconcile(
        evaluate(snapshot, RULES), RULES, day=day(4), now=morning(4), checked_logins={"alice"}
    )

    assert sorted(e.state for e in events if e.finding.rule == "failed") == ["resolved"] * 2
