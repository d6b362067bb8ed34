"""Typed records of the CBS answers, lenient in what they accept.

The documents' tables and examples disagree, and real servers answer like the examples:
``UserID`` vs ``UserId``, ``RestoreJobStatus`` vs ``Status``, numbers sent as strings,
``""`` where a number belongs, times as ``yyyy-MM-dd HH:mm:ss`` or ``yyyy-MM-dd-HH-mm-ss``
(and once ``2024-06-26 11;34:15``). Each record takes any of them, ignores unknown keys and
turns a malformed time into ``None`` with a logged warning instead of failing the run.
Statuses stay plain strings: an unknown value must never be mistaken for success.

Every string the CBS sends is hostile, and is made safe here, once, for every store and
every reader after it: control characters, bidi overrides, line separators and lone
surrogates become U+FFFD (visible, and storable on PostgreSQL, which refuses NUL); text is
clipped to ``TEXT_MAX`` characters with an ellipsis. An id must also fit its column and stay
distinct: one that is too long or holds such a character becomes its readable prefix, an
ellipsis and a hash of the whole id (``safe_id``). The ids the CBS must be asked about again
are kept exactly as sent, in ``raw_*`` fields that nothing stores or shows.

A number that cannot be read (``NaN``, ``1e400``, ``"0x10"``, negative or fractional counts)
is ``None`` with a warning: unknown, which the rules never take for zero.
"""

from __future__ import annotations

import hashlib
import logging
import re
import reprlib
from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from cbsalert.safetext import UNSAFE_CHARS

log = logging.getLogger(__name__)

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d-%H-%M-%S", "%Y-%m-%dT%H:%M:%S")

TEXT_MAX = 500  # the longest text kept: the backup-set name column holds 500
ID_MAX = 255  # the set and destination id columns
MARK = "\N{HORIZONTAL ELLIPSIS}"
# Control, bidi, zero-width characters and lone surrogates: safetext's one class.
_UNSAFE_TEXT = re.compile(f"[{UNSAFE_CHARS}]")
# In an id also ``|``, which joins the parts of an alert key, and the marker of a rewritten
# id, so a verbatim id can never equal another one's rewritten form.
_UNSAFE_ID = re.compile(f"[{UNSAFE_CHARS}|{MARK}]")
_DIGEST = 16  # hex characters of the hash that keeps rewritten ids apart (64 bits)


def safe_text(text: str, limit: int = TEXT_MAX) -> str:
    """Text fit to store and show: unsafe characters replaced, clipped with an ellipsis."""
    text = _UNSAFE_TEXT.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 1] + MARK


def safe_id(value: str) -> str:
    """An id fit to store, show and join into an alert key, distinct for distinct ids.

    Ordinary ids are kept as they are; any other becomes ``prefix…hash``, within ``ID_MAX``.
    """
    if len(value) <= ID_MAX and not _UNSAFE_ID.search(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST]
    readable = _UNSAFE_ID.sub("\ufffd", value[: ID_MAX - _DIGEST - 1])
    return f"{readable}{MARK}{digest}"


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
    """A count or size: a whole number from 0 to 2**63 - 1, sent as a number or a string.

    ``None`` when absent or empty, and when unreadable (logged): every CBS number is a
    count or a size, so NaN, infinity, a negative or a fractional value is as unreadable as
    ``"0x10"``; none of them may turn into a number a rule compares."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    number: int | float | None = None
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = None
    elif isinstance(value, str):
        return None
    if isinstance(number, float):
        number = int(number) if number.is_integer() else None
    if number is not None and 0 <= number < 2**63:
        return number
    log.warning("ignoring unreadable CBS number %s", reprlib.repr(value))
    return None


def _to_raw(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _to_str(value: Any) -> str:
    return safe_text(_to_raw(value))


def _to_opt_str(value: Any) -> str | None:
    return _to_str(value) or None


def _to_id(value: Any) -> str:
    return safe_id(_to_raw(value))


def _to_opt_id(value: Any) -> str | None:
    return _to_id(value) or None


CbsTime = Annotated[datetime | None, BeforeValidator(parse_cbs_time)]
CbsInt = Annotated[int | None, BeforeValidator(_to_int)]
CbsStr = Annotated[str, BeforeValidator(_to_str)]
CbsOptStr = Annotated[str | None, BeforeValidator(_to_opt_str)]
CbsId = Annotated[str, BeforeValidator(_to_id)]
CbsOptId = Annotated[str | None, BeforeValidator(_to_opt_id)]
# Exactly as sent: only for sending back to the CBS, never stored or shown.
CbsRaw = Annotated[str, BeforeValidator(_to_raw)]


class CbsRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


def _alias(*names: str) -> Any:
    # validate_default: a missing key must go through the converter too, so a ``str`` field
    # holds ``""`` and not ``None``.
    return Field(default=None, validate_default=True, validation_alias=AliasChoices(*names))


class BackupSet(CbsRecord):
    """One entry of ListBackupSets."""

    id: CbsId = _alias("ID", "Id", "BackupSetID")
    name: CbsStr = _alias("Name", "BackupSetName")
    type: CbsStr = _alias("Type")


class Destination(CbsRecord):
    """One entry of GetBackupSet's ``Data.DestinationSettings.DestinationList``."""

    id: CbsId = _alias("Id", "ID", "DestinationID")
    name: CbsStr = _alias("Name")
    raw_id: CbsRaw = _alias("Id", "ID", "DestinationID")  # to ask for a report with


class BackupJob(CbsRecord):
    """One entry of ListBackupJobMode.

    The document's example has no ``ID``, so the job id is then derived from ``StartTime``
    (job ids are start times in ``yyyy-MM-dd-HH-mm-ss`` form). ``running`` is true only
    when ``EndTime`` is absent or empty; a malformed end time is not a running job.
    ``raw_id`` and ``raw_set_id`` are the ids as sent, to ask for its report and progress.
    """

    id: CbsId = _alias("ID", "Id", "BackupJobID")
    login: CbsStr = _alias("LoginName")
    owner: CbsStr = _alias("Owner")
    user_id: CbsStr = _alias("UserId", "UserID")
    start_time: CbsTime = _alias("StartTime")
    end_time: CbsTime = _alias("EndTime")
    backup_set_id: CbsId = _alias("BackupSetID", "BackupSetId")
    backup_set_name: CbsStr = _alias("BackupSetName")
    mode: CbsOptStr = _alias("BackupJobMode")
    running: bool = False
    raw_id: CbsRaw = _alias("ID", "Id", "BackupJobID")
    raw_set_id: CbsRaw = _alias("BackupSetID", "BackupSetId")

    def sort_key(self) -> tuple[datetime, str]:
        """Oldest first: by start time (an unknown one first), then id."""
        return (self.start_time or datetime.min, self.id)

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

    id: CbsId = _alias("ID")
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
    deleted_files_size: CbsInt = _alias("TotalDeletedFilesSize")
    moved_files: CbsInt = _alias("NumOfMovedFiles")
    moved_files_size: CbsInt = _alias("TotalMovedFilesSize")
    # The size of what the job read before deduplication: how much the set holds.
    dedupe_original_size: CbsInt = _alias("DedupeOriginalSize")


class RestoreJob(CbsRecord):
    """One entry of ListRestoreJobStatus.

    The example says ``Status`` and ``UserId``, the table ``RestoreJobStatus`` and ``UserID``.
    """

    id: CbsId = _alias("ID")
    login: CbsStr = _alias("LoginName")
    owner: CbsStr = _alias("Owner")
    user_id: CbsStr = _alias("UserID", "UserId")
    start_time: CbsTime = _alias("StartTime")
    end_time: CbsTime = _alias("EndTime")
    status: CbsStr = _alias("RestoreJobStatus", "Status")
    backup_set_id: CbsId = _alias("BackupSetID", "BackupSetId")
    backup_set_name: CbsStr = _alias("BackupSetName")
    destination_id: CbsOptId = _alias("DestinationID")
    restore_size: CbsInt = _alias("RestoreSize")
    run_version: CbsStr = _alias("RunVersion")


class JobProgress(CbsRecord):
    """GetBackupJobProgress's ``Data``: every number arrives as a string."""

    id: CbsId = _alias("ID")
    login: CbsStr = _alias("LoginName")
    owner: CbsStr = _alias("Owner")
    user_id: CbsStr = _alias("UserID", "UserId")
    start_time: CbsTime = _alias("StartTime")
    end_time: CbsTime = _alias("EndTime")
    backup_set_id: CbsId = _alias("BackupSetID")
    backup_set_name: CbsStr = _alias("BackupSetName")
    current_file: CbsStr = _alias("CurrentFileName")
    file_upload_time: CbsTime = _alias("FileUploadTime")
    current_file_count: CbsInt = _alias("CurrentFileCount")
    total_file_count: CbsInt = _alias("TotalFileCount")
    uploaded_size: CbsInt = _alias("UploadedFileSize")
    total_size: CbsInt = _alias("TotalFileSize")
