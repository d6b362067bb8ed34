"""What the CBS answers to each operation, from the world of a data file.

Faithful to the documents in /work/shared/cbs-api/, quirks kept on purpose:
ListBackupJobMode records carry ``UserId`` and no ``ID``; ListRestoreJobStatus records say
``Status`` and ``UserId`` and give times as ``yyyy-MM-dd HH:mm:ss`` although the table
promises ``RestoreJobStatus``, ``UserID`` and ``yyyy-MM-dd-HH-mm-ss``; GetBackupJobProgress
sends every number as a string; GetBackupJobReportSummary sends ``""`` for absent numbers
and keys the table lacks. AuthSystemUser (``cbsalert doctor``) answers without ``Data``,
ListUsers (``users.py``) with ``User``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from cbsalert.cbs import AUTH_SYSTEM_USER, READ_OPERATIONS
from cbsalert.devtools.simulator import users
from cbsalert.devtools.simulator.data import SimData, SimJob, SimRestore, SimUser

_RELATIVE = re.compile(r"^D(?P<offset>[+-]\d+)?\s+(?P<time>\d{1,2}:\d{2}(?::\d{2})?)$")
_OPTIONAL_SINCE = (9, 7)  # ListBackupSets and GetBackupSet exist from CBS 9.7 on
_Timed = TypeVar("_Timed", SimJob, SimRestore)


class World:
    """The data, resolved (relative times made absolute, job ids filled in), answering."""

    def __init__(self, data: SimData) -> None:
        self.data = data
        self.today: date = data.today or datetime.now(ZoneInfo(data.timezone)).date()
        self.users: dict[str, SimUser] = {}
        for user in data.users:
            jobs = [self._resolve(job) for job in user.jobs]
            restores = [self._resolve(r) for r in user.restores]
            self.users[user.login] = user.model_copy(update={"jobs": jobs, "restores": restores})

    def _resolve(self, record: _Timed) -> _Timed:
        """Absolute times, and the id the CBS derives from the start when none is given."""
        start = self.time(record.start)
        end = self.time(record.end) if record.end is not None else None
        return record.model_copy(
            update={"start": start, "end": end, "id": record.id or _job_id(start)}
        )

    def time(self, text: str | None) -> str:
        if text is None:
            return ""
        match = _RELATIVE.match(text.strip())
        if not match:
            return text
        day = self.today + timedelta(days=int(match.group("offset") or 0))
        hms = match.group("time")
        if hms.count(":") == 1:
            hms += ":00"
        return f"{day.isoformat()} {int(hms[:-6]):02d}{hms[-6:]}"

    def _supports_optional(self) -> bool:
        parts = tuple(int(p) for p in re.findall(r"\d+", self.data.version)[:2])
        return parts >= _OPTIONAL_SINCE

    def answer(self, operation: str, params: dict[str, Any], *, v2: bool = True) -> dict[str, Any]:
        """The JSON body the CBS would send for one call (``v2``: on the versioned path)."""
        if (
            params.get("SysUser") != self.data.system_user
            or params.get("SysPwd") != self.data.system_password
        ):
            return error("Incorrect system username/password", "com.ahsay.obs.core.dbs.c")
        if operation == AUTH_SYSTEM_USER:
            return {"Status": "OK"}  # the document's example: no Data at all
        if operation == "ListUsers":
            if not users.offers(self.data, v2=v2):
                return error(users.UNSUPPORTED, "com.ahsay.cbs.api.a")
            return users.list_users(self.users.values(), params, v2=v2)
        if operation not in READ_OPERATIONS:
            return error(f"Unsupported API: {operation}", "com.ahsay.cbs.api.a")
        if operation in ("ListBackupSets", "GetBackupSet") and not self._supports_optional():
            return error(f"Unsupported API: {operation}", "com.ahsay.cbs.api.a")
        login = str(params.get("LoginName", ""))
        user = self.users.get(login)
        if user is None:
            return error(
                f"[UserCacheManager.NoSuchUserExpt] User '{login}' not found.",
                "com.ahsay.obs.core.dbs.c",
            )
        handler = getattr(self, f"_op_{operation}")
        result: dict[str, Any] = handler(user, params)
        return result

    def _op_ListBackupSets(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        return _ok([{"ID": s.id, "Name": s.name, "Type": s.type} for s in user.backup_sets])

    def _op_GetBackupSet(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        wanted = str(params.get("BackupSetID", ""))
        for s in user.backup_sets:
            if s.id == wanted:
                destinations = [
                    {"Id": d.id, "Name": d.name, "Type": "OBS", "Enabled": True}
                    for d in s.destination_list()
                ]
                return _ok(
                    {
                        "ID": s.id,
                        "Name": s.name,
                        "Type": s.type,
                        "Owner": user.owner,
                        "DestinationSettings": {"DestinationList": destinations},
                    }
                )
        return error(f"Backup set '{wanted}' not found", "com.ahsay.obs.core.dbs.b")

    def _op_ListBackupJobMode(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        # The table says yyyy-MM-dd, the example sends yyyy-MM-dd-HH-mm-ss: take the date part.
        day = str(params.get("BackupDate", ""))[:10]
        only_set = params.get("BackupSetID")
        names = {s.id: s.name for s in user.backup_sets}
        rows = []
        for job in user.jobs:
            if not (job.listed_on or job.start).startswith(day) or (
                only_set and job.set != only_set
            ):
                continue
            rows.append(
                {
                    "BackupSetName": names.get(job.set, ""),
                    "LoginName": user.login,
                    "Owner": user.owner,
                    "EndTime": job.end or "",
                    "UserId": user.user_id or user.login,
                    "StartTime": job.start,
                    "BackupJobMode": job.mode,
                    "BackupSetID": job.set,
                }
            )
        return _ok(rows)

    def _find_job(self, user: SimUser, params: dict[str, Any]) -> SimJob | None:
        for job in user.jobs:
            if job.set == params.get("BackupSetID") and job.id == params.get("BackupJobID"):
                return job
        return None

    def _op_GetBackupJobReportSummary(
        self, user: SimUser, params: dict[str, Any]
    ) -> dict[str, Any]:
        job = self._find_job(user, params)
        if job is None:
            return error("Backup job not found", "com.ahsay.obs.core.dbs.b")
        result = job.destinations.get(str(params.get("DestinationID", "")))
        status = job.status if job.end else ""
        if result is not None:
            status = result.status if job.end else ""
        errors = result.errors if result else job.errors
        warnings = result.warnings if result else job.warnings
        return _ok(
            {
                "TotalCopiedSize": 0,
                "DedupeEnabled": True,
                "DedupeOriginalSize": 2384,
                "DedupeSaving": 0,
                "EndTime": job.end or "",
                "TotalDeletedFilesSize": 0,
                "NumOfMovedFiles": 0,
                "SuccessPublicFolder": "",
                "TotalUpdatedFilesSize": 726,
                "TotalUpdatedPermissionFilesSize": 0,
                "NumOfWarnEntries": warnings,
                "NumOfNewFiles": 0,
                "NumOfUpdatedFiles": 1,
                "NumOfCopiedFiles": 0,
                "ID": job.id,
                "NumOfErrorEntries": errors,
                "BackupJobStatus": status,
                "TotalNewFilesSize": 0,
                "MissedDatabase": "",
                "NumOfUpdatedPermissionFiles": 0,
                "SuccessDatabase": "",
                "StartTime": job.start,
                "NumOfDeletedFiles": 0,
                "MissedPublicFolder": "",
                "TotalMovedFilesSize": 0,
            }
        )

    def _op_ListRestoreJobStatus(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        day = str(params.get("RestoreDate", ""))[:10]
        names = {s.id: s.name for s in user.backup_sets}
        rows = []
        for r in user.restores:
            if not (r.listed_on or r.start).startswith(day):
                continue
            rows.append(
                {
                    "Status": r.status,
                    "BackupSetName": names.get(r.set, ""),
                    "LoginName": user.login,
                    "Owner": user.owner,
                    "EndTime": r.end or "",
                    "UserId": user.user_id or user.login,
                    "RunVersion": "9.11.0.0",
                    "StartTime": r.start,
                    "ID": r.id,
                    "BackupSetID": r.set,
                    "RestoreSize": r.size,
                    "DestinationID": r.destination or f"{r.set}1",
                }
            )
        return _ok(rows)

    def _op_GetBackupJobProgress(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        job = self._find_job(user, params)
        if job is None:
            return error("Backup job not found", "com.ahsay.obs.core.dbs.b")
        names = {s.id: s.name for s in user.backup_sets}
        return _ok(
            {
                "BackupSetName": names.get(job.set, ""),
                "LoginName": user.login,
                "Owner": user.owner,
                "EndTime": job.end or "",
                "TotalFileCount": str(job.total_files),
                "StartTime": job.start,
                "BackupSetID": job.set,
                "UserID": user.user_id or user.login,
                "UploadedFileSize": "70479290",
                "CurrentFileName": job.current_file,
                "TotalFileSize": "78477452",
                "ID": job.id,
                "CurrentFileCount": str(job.done_files),
            }
        )


def _job_id(start: str) -> str:
    return re.sub(r"[ :;T]", "-", start.strip())


def _ok(data: Any) -> dict[str, Any]:
    return {"Status": "OK", "Data": data}


def error(message: str, expt_type: str) -> dict[str, Any]:
    """A ``Status: Error`` answer, as the CBS sends one."""
    return {"Status": "Error", "Message": message, "ExptType": expt_type}
