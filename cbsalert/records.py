"""Typed records of the CBS answers, lenient in what they accept.

The documents' tables and examples disagree, and real servers answer like the examples:
``UserID`` vs ``UserId``, ``RestoreJobStatus`` vs ``Status``, numbers sent as strings,
``""`` where a number belongs, times as ``yyyy-MM-dd HH:mm:ss`` or ``yyyy-MM-dd-HH-mm-ss``
(and once ``2024-06-26 11;34:15``). Each record takes any of them, ignores unknown keys and
turns a malformed time into ``None`` with a logged warning instead of failing the run.
Statuses stay plain strings: an unknown value must never be mistaken for success.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

log = logging.getLogger(__name__)

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d-%H-%M-%S", "%Y-%m-%dT%H:%M:%S")


def parse_cbs_time(value: Any) -> datetime | None:
    """Parse a CBS time (naive, in the CBS's zone); ``None`` for empty or malformed values."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Some CBS fields carry epoch milliseconds; accept them rather than fail.
        try:
            return datetime.fromtimestamp(value / 1000 if value > 10**11 else value)
        except (OverflowError, OSError, ValueError):
            log.warning("ignoring malformed CBS time %r", value)
            return None
    text = str(value).strip()
    if not text:
        return None
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    log.warning("ignoring malformed CBS time %r", text[:64])
    return None


def _to_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 2**63 else None
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            log.warning("ignoring malformed CBS number %r", text[:64])
            return None
        return int(number) if number == number and abs(number) < 2**63 else None


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return ""
    return str(value)


def _to_opt_str(value: Any) -> str | None:
    text = _to_str(value)
    return text or None


CbsTime = Annotated[datetime | None, BeforeValidator(parse_cbs_time)]
CbsInt = Annotated[int | None, BeforeValidator(_to_int)]
CbsStr = Annotated[str, BeforeValidator(_to_str)]
CbsOptStr = Annotated[str | None, BeforeValidator(_to_opt_str)]


class CbsRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


def _alias(*names: str) -> Any:
    # validate_default: a missing key must go through the converter too, so a ``str`` field
    # holds ``""`` and not ``None``.
    return Field(default=None, validate_default=True, validation_alias=AliasChoices(*names))


class BackupSet(CbsRecord):
    """One entry of ListBackupSets."""

    id: CbsStr = _alias("ID", "Id", "BackupSetID")
    name: CbsStr = _alias("Name", "BackupSetName")
    type: CbsStr = _alias("Type")


class Destination(CbsRecord):
    """One entry of GetBackupSet's ``Data.DestinationSettings.DestinationList``."""

    id: CbsStr = _alias("Id", "ID", "DestinationID")
    name: CbsStr = _alias("Name")


class BackupJob(CbsRecord):
    """One entry of ListBackupJobMode.

    The document's example has no ``ID``, so the job id is then derived from ``StartTime``
    (job ids are start times in ``yyyy-MM-dd-HH-mm-ss`` form). ``running`` is true only
    when ``EndTime`` is absent or empty; a malformed end time is not a running job.
    """

    id: CbsStr = _alias("ID", "Id", "BackupJobID")
    login: CbsStr = _alias("LoginName")
    owner: CbsStr = _alias("Owner")
    user_id: CbsStr = _alias("UserId", "UserID")
    start_time: CbsTime = _alias("StartTime")
    end_time: CbsTime = _alias("EndTime")
    backup_set_id: CbsStr = _alias("BackupSetID", "BackupSetId")
    backup_set_name: CbsStr = _alias("BackupSetName")
    mode: CbsOptStr = _alias("BackupJobMode")
    running: bool = False

    @model_validator(mode="before")
    @classmethod
    def _derive_id_and_running(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        # ``end_time``: populate_by_name lets a dumped record be validated again.
        end = data.get("EndTime", data.get("end_time"))
        data["running"] = end is None or (isinstance(end, str) and not end.strip())
        if not any(data.get(k) for k in ("ID", "Id", "BackupJobID")):
            start = data.get("StartTime")
            if isinstance(start, str) and len(start.strip()) == 19:
                data["ID"] = re.sub(r"[ :;T]", "-", start.strip())
        return data


class JobReport(CbsRecord):
    """GetBackupJobReportSummary's ``Data``. ``status`` ``""`` means still in progress."""

    id: CbsStr = _alias("ID")
    start_time: CbsTime = _alias("StartTime")
    end_time: CbsTime = _alias("EndTime")
    status: CbsStr = _alias("BackupJobStatus")
    warnings: CbsInt = _alias("NumOfWarnEntries")
    errors: CbsInt = _alias("NumOfErrorEntries")
    new_files: CbsInt = _alias("NumOfNewFiles")
    new_files_size: CbsInt = _alias("TotalNewFilesSize")
    updated_files: CbsInt = _alias("NumOfUpdatedFiles")
    updated_files_size: CbsInt = _alias("TotalUpdatedFilesSize")
    deleted_files: CbsInt = _alias("NumOfDeletedFiles")
    moved_files: CbsInt = _alias("NumOfMovedFiles")


class RestoreJob(CbsRecord):
    """One entry of ListRestoreJobStatus.

    The example says ``Status`` and ``UserId``, the table ``RestoreJobStatus`` and ``UserID``.
    """

    id: CbsStr = _alias("ID")
    login: CbsStr = _alias("LoginName")
    owner: CbsStr = _alias("Owner")
    user_id: CbsStr = _alias("UserID", "UserId")
    start_time: CbsTime = _alias("StartTime")
    end_time: CbsTime = _alias("EndTime")
    status: CbsStr = _alias("RestoreJobStatus", "Status")
    backup_set_id: CbsStr = _alias("BackupSetID", "BackupSetId")
    backup_set_name: CbsStr = _alias("BackupSetName")
    destination_id: CbsOptStr = _alias("DestinationID")
    restore_size: CbsInt = _alias("RestoreSize")
    run_version: CbsStr = _alias("RunVersion")


class JobProgress(CbsRecord):
    """GetBackupJobProgress's ``Data``: every number arrives as a string."""

    id: CbsStr = _alias("ID")
    login: CbsStr = _alias("LoginName")
    owner: CbsStr = _alias("Owner")
    user_id: CbsStr = _alias("UserID", "UserId")
    start_time: CbsTime = _alias("StartTime")
    end_time: CbsTime = _alias("EndTime")
    backup_set_id: CbsStr = _alias("BackupSetID")
    backup_set_name: CbsStr = _alias("BackupSetName")
    current_file: CbsStr = _alias("CurrentFileName")
    file_upload_time: CbsTime = _alias("FileUploadTime")
    current_file_count: CbsInt = _alias("CurrentFileCount")
    total_file_count: CbsInt = _alias("TotalFileCount")
    uploaded_size: CbsInt = _alias("UploadedFileSize")
    total_size: CbsInt = _alias("TotalFileSize")
