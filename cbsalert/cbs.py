"""The AhsayCBS operations cbsalert reads, as typed records (``CbsClient``).

Each method is one operation of the JSON API (see /obs/api/json in the CBS documents);
calling it, retrying it and judging an error answer are ``cbs_call.CbsCaller``'s. The
operations older servers lack (ListBackupSets, GetBackupSet) answer ``None`` there;
ListUsers raises instead (``discovery`` decides what its failure means).
"""

from __future__ import annotations

from datetime import date

from cbsalert.cbs_answer import destinations, record, records, users
from cbsalert.cbs_call import AUTH_SYSTEM_USER as AUTH_SYSTEM_USER
from cbsalert.cbs_call import CbsCaller
from cbsalert.cbsusers import CbsUser, ClientType
from cbsalert.records import BackupJob, BackupSet, Destination, JobProgress, JobReport, RestoreJob

# The read operations cbsalert may call; the simulator refuses to count anything else.
READ_OPERATIONS = (
    "ListBackupSets",
    "GetBackupSet",
    "ListBackupJobMode",
    "GetBackupJobReportSummary",
    "ListRestoreJobStatus",
    "GetBackupJobProgress",
    "ListUsers",
    AUTH_SYSTEM_USER,
)


class CbsClient(CbsCaller):
    """One client per run: the typed operations over one ``CbsCaller``."""

    async def list_backup_sets(self, login: str) -> list[BackupSet] | None:
        """The user's backup sets, or ``None`` when the server does not offer the operation."""
        return await self._optional(
            "ListBackupSets",
            {"LoginName": login},
            lambda data: records("ListBackupSets", data, BackupSet),
        )

    async def get_destinations(self, login: str, backup_set_id: str) -> list[Destination] | None:
        """The set's destinations (GetBackupSet v2), or ``None`` when not offered."""
        params = {"LoginName": login, "BackupSetID": backup_set_id}
        return await self._optional("GetBackupSet", params, destinations)

    async def list_users(self, client_type: ClientType | None = None) -> list[CbsUser]:
        """Every user of the server (ListUsers v2), or those of one client type (its
        ``ClientType`` filter). The other filters are not used: owners and logins are
        matched here, as every pattern is (``cbsalert.scope``)."""
        params: dict[str, str] = {"ClientType": client_type} if client_type else {}
        return await self.call("ListUsers", params, users)

    async def list_backup_jobs(self, login: str, day: date) -> list[BackupJob]:
        params = {"LoginName": login, "BackupDate": day.isoformat()}
        return await self.call(
            "ListBackupJobMode", params, lambda data: records("ListBackupJobMode", data, BackupJob)
        )

    async def get_job_report(
        self,
        login: str,
        owner: str,
        backup_set_id: str,
        job_id: str,
        destination_id: str | None,
    ) -> JobReport:
        params = {"LoginName": login, "BackupSetID": backup_set_id, "BackupJobID": job_id}
        if owner:
            params["Owner"] = owner
        if destination_id:
            params["DestinationID"] = destination_id
        operation = "GetBackupJobReportSummary"
        return await self.call(operation, params, lambda data: record(operation, data, JobReport))

    async def list_restore_jobs(self, login: str, owner: str, day: date) -> list[RestoreJob]:
        params = {"LoginName": login, "RestoreDate": day.isoformat()}
        if owner:
            params["Owner"] = owner
        operation = "ListRestoreJobStatus"
        return await self.call(operation, params, lambda data: records(operation, data, RestoreJob))

    async def get_job_progress(
        self, login: str, backup_set_id: str, destination_id: str | None, job_id: str
    ) -> JobProgress:
        params = {"LoginName": login, "BackupSetID": backup_set_id, "BackupJobID": job_id}
        if destination_id:
            params["DestinationID"] = destination_id
        operation = "GetBackupJobProgress"
        return await self.call(operation, params, lambda data: record(operation, data, JobProgress))
