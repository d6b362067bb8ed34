"""The three history kinds' cost in ``evaluate``: users x sets with a full history each.

Each user has ``sets`` daily sets with 30 days of history (what ``no_change``'s default
``window`` reads, more than the 28 days ``change_spike`` and ``duration`` read) and one
finished job on the day. Prints the CPU seconds per 1,000 users of ``rules.assess`` with the
three kinds, and with ``backup_status`` alone for comparison.

    .venv/bin/python -m bench.history_rules [--users 2000] [--sets 2]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from cbsalert.config import AnyRule
from cbsalert.jobhistory import HistoryJob
from cbsalert.model import JobResult, UserSnapshot
from cbsalert.records import BackupJob, JobReport
from cbsalert.rules import RuleBase, assess

DAY = date(2026, 11, 22)
ZONE = ZoneInfo("Europe/Amsterdam")


def snapshot(login: str, sets: int) -> UserSnapshot:
    jobs, history = [], {}
    for s in range(sets):
        set_id = f"{login}-{s}"
        start = f"{DAY} 22:00:00"
        job = BackupJob.model_validate({"StartTime": start, "EndTime": f"{DAY} 22:40:00",
                                        "BackupSetID": set_id, "BackupJobMode": "S"})  # fmt: skip
        report = JobReport.model_validate({
            "ID": job.id, "StartTime": start, "EndTime": f"{DAY} 22:40:00",
            "BackupJobStatus": "BS_STOP_SUCCESS", "NumOfNewFiles": 5, "NumOfUpdatedFiles": 300,
            "NumOfDeletedFiles": 0})  # fmt: skip
        jobs.append(JobResult(job, None, report))
        history[(set_id, None)] = [
            HistoryJob(login=login, backup_set_id=set_id, destination_id=None,
                       day=DAY - timedelta(days=n), outcome="ok", status="BS_STOP_SUCCESS",
                       start_time=datetime(2026, 1, 1, 22), end_time=datetime(2026, 1, 1, 23),
                       new_files=n, updated_files=300, deleted_files=1)
            for n in range(30, 0, -1)
        ]  # fmt: skip
    return UserSnapshot(login=login, owner="", day=DAY, expected_sets={}, sets_source="none",
                        jobs=jobs, cbs_zone=ZONE, zone=ZONE, history=history)  # fmt: skip


def cpu_per_thousand(snaps: list[UserSnapshot], rules: list[RuleBase]) -> float:
    now = datetime(2026, 11, 23, 7, tzinfo=ZONE)
    started = time.process_time()
    for snap in snaps:
        assess(snap, rules, now)
    return (time.process_time() - started) / len(snaps) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--sets", type=int, default=2)
    args = parser.parse_args()
    make = TypeAdapter(AnyRule).validate_python
    snaps = [snapshot(f"user{i}", args.sets) for i in range(args.users)]
    status = [make({"id": "failed", "kind": "backup_status"})]
    history = [make({"id": k, "kind": k}) for k in ("no_change", "change_spike", "duration")]
    base = cpu_per_thousand(snaps, status)
    both = cpu_per_thousand(snaps, status + history)
    print(f"{args.users} users x {args.sets} sets, 30 days of history each")
    print(f"backup_status alone:        {base:.3f} CPU s per 1,000 users")
    print(f"+ the three history kinds:  {both:.3f} CPU s per 1,000 users")


if __name__ == "__main__":
    main()
