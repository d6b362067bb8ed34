"""The kind that judges restores: a failed restore is an event, not a state of a set."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from cbsalert.cbswords import status_sentence
from cbsalert.model import AlertEvent, Finding, UserSnapshot
from cbsalert.rules.base import Duration, StatusRule


class RestoreStatusRule(StatusRule):
    """The last restore of a set on the day did not end in ``ok_statuses``.

    A failed restore is an event: it resolves with a later good restore of that set, or
    quietly after ``auto_resolve`` with no new failure.
    """

    kind: Literal["restore_status"] = "restore_status"
    what: ClassVar[str] = "restore failed"
    hint: ClassVar[str] = (
        "Open the restore report in AhsayCBS (Monitoring > Backup / Restore Logs) and ask "
        "the user whether the restore has to be repeated."
    )
    ok_statuses: list[str] = Field(default_factory=lambda: ["RESTORE_STOP_SUCCESS"])
    warning_statuses: list[str] = Field(
        default_factory=lambda: ["RESTORE_STOP_SUCCESS_WITH_WARNING"]
    )
    running_statuses: list[str] = Field(default_factory=lambda: ["", "RESTORE_STILL_RUNNING"])
    auto_resolve: Duration = timedelta(days=7)

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        return [
            cls.sample(
                evening, "unsilenced", "warning",
                status_sentence(
                    "Restore from", "'Documents (daily)'", "RESTORE_STOP_BY_ERROR", "failed"
                ), days=3,
                backup_set_id="1700000000001", backup_set_name="Documents (daily)",
                job_id="R-2026-0001", status="RESTORE_STOP_BY_ERROR",
                start_time=evening - timedelta(hours=6),
                end_time=evening - timedelta(hours=5, minutes=50),
            ),
        ]  # fmt: skip

    def auto_resolution(self, last_fired_day: date, day: date) -> str | None:
        """After ``auto_resolve`` without a new failure: nothing else would ever clear it."""
        quiet_days = (day - last_fired_day).days
        if timedelta(days=quiet_days) < self.auto_resolve:
            return None
        return f"No new failed restore for {quiet_days} days; resolved automatically."

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        latest: dict[str, Any] = {}
        for restore in snap.restores:
            if restore.status in self.running_statuses:
                continue
            if not self.applies(snap.login, restore.backup_set_id, restore.backup_set_name):
                continue
            key = (restore.start_time or datetime.min, restore.id)
            current = latest.get(restore.backup_set_id)
            if current is None or key > (current.start_time or datetime.min, current.id):
                latest[restore.backup_set_id] = restore
        out = []
        for set_id, restore in sorted(latest.items()):
            fields = {
                "backup_set_id": set_id,
                "backup_set_name": restore.backup_set_name or snap.expected_sets.get(set_id),
                "job_id": restore.id,
                "status": restore.status,
                "start_time": snap.aware(restore.start_time),
                "end_time": snap.aware(restore.end_time),
            }
            out.append(self.status_finding(snap, "Restore from", fields))
        return out
