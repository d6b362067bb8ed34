"""The CBS's codes in words: job and restore status constants, job modes, and the sentences
the rules' summaries make of them. Part of ``cbsalert.labels`` (split off to keep each
module small), pure like it: the rules, the templates' filters and the terminal all say a
status or a mode with these, once.

The statuses are those of ``BackupJobStatus`` and ``RestoreJobStatus`` seen in public code
(the documents name only the success ones; docs/cbs-api ``MORE-OPERATIONS.md``). A status
this table does not know is shown as itself, ``status BS_NEW_IN_V11``: never as success,
never hidden (which statuses count as success is the rules' ``ok_statuses``, not this).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

# A status in words, written to follow "Backup of 'Documents'" in a sentence and to stand
# alone in a list of facts.
STATUS_WORDS: dict[str, str] = {
    "BS_STOP_SUCCESS": "completed successfully",
    "BS_STOP_SUCCESS_WITH_WARNING": "completed with warnings",
    "BS_STOP_SUCCESS_WITH_ERROR": "completed with errors",
    "BS_STOP_BY_USER": "was stopped by the user",
    "BS_STOP_BY_SYSTEM_ERROR": "stopped by a system error",
    "BS_STOP_BY_SCHEDULER": "was stopped by the scheduler",
    "BS_STOP_BY_QUOTA_EXCEEDED": "stopped: the user's storage quota is exceeded",
    "BS_STOP_MISSED_BACKUP": "was missed: it did not start",
    "BS_BACKUP_NOT_FINISHED": "did not finish",
    "BS_SCHEDULE_NOT_FINISHED": "did not finish on schedule",
    "BS_STILL_RUNNING": "is still running",
    "BS_MISSED_DATABASAE": "missed one or more databases",  # (sic): the CBS's spelling
    "BS_MISSED_DATABASE": "missed one or more databases",
    "BS_MISSED_PUBLIC_FOLDER": "missed one or more public folders",
    "BS_MISSED_VIRTUAL_MACHINE": "missed one or more virtual machines",
    "RESTORE_STOP_SUCCESS": "completed successfully",
    "RESTORE_STOP_SUCCESS_WITH_WARNING": "completed with warnings",
    "RESTORE_STOP_SUCCESS_WITH_ERROR": "completed with errors",
    "RESTORE_STOP_BY_USER": "was stopped by the user",
    "RESTORE_STOP_BY_ERROR": "was stopped by an error",
    "RESTORE_STILL_RUNNING": "is still running",
}
# The statuses that say a job or restore did all it should: a fact not worth showing.
SUCCESS_STATUSES = frozenset({"BS_STOP_SUCCESS", "RESTORE_STOP_SUCCESS"})
QUOTA_EXCEEDED = "BS_STOP_BY_QUOTA_EXCEEDED"

# ListBackupJobMode's BackupJobMode: "R = Remote backup, M = Manual backup, S = Scheduled
# backup" (ListBackupJobMode.txt).
MODE_WORDS: dict[str, str] = {"S": "scheduled", "M": "manual", "R": "remote"}


def status_words(status: str | None) -> str | None:
    """``stopped by a system error``; None for a status this version does not know."""
    return STATUS_WORDS.get(status or "")


def status_phrase(status: str | None) -> str:
    """A status as a person reads it, its constant once and last: ``stopped by a system
    error (BS_STOP_BY_SYSTEM_ERROR)``. One this version does not know is itself, ``status
    BS_NEW_IN_V11``; an empty one ``an empty status``; None (no report) nothing."""
    if status is None:
        return ""
    if not status:
        return "an empty status"
    words = status_words(status)
    return f"{words} ({status})" if words else f"status {status}"


def status_sentence(
    what: str, label: str, status: str | None, verdict: Literal["ok", "warning", "failed"]
) -> str:
    """A status rule's summary: ``Backup of 'Mail' stopped by a system error
    (BS_STOP_BY_SYSTEM_ERROR).``; ``… failed with status BS_NEW_IN_V11.`` for a status
    this version does not know (or an empty one), which a rule never takes for success;
    ``… succeeded.``; a status a rule's ``ok_statuses`` accepts besides success says so."""
    subject = f"{what} {label}"
    if verdict == "ok":
        if status in SUCCESS_STATUSES:
            return f"{subject} succeeded."
        return f"{subject} {status_phrase(status)}, which this rule counts as success."
    if status_words(status) is None:
        verb = "ended with" if verdict == "warning" else "failed with"
        return f"{subject} {verb} {status_phrase(status or '')}."
    return f"{subject} {status_phrase(status)}."


def count_sentence(label: str, noun: str, count: int, threshold: int) -> str:
    """A count rule's summary: ``Backup of 'Mail' logged 4 errors.``; with a threshold
    above zero, ``… logged 4 errors, more than the 2 allowed.``"""
    said = f"Backup of {label} logged {count} {noun}{'' if count == 1 else 's'}"
    if count > threshold and threshold > 0:
        return f"{said}, more than the {threshold} allowed."
    if count <= threshold and count > 0:
        return f"{said}, no more than the {threshold} allowed."
    return f"{said}."


def modes_phrase(modes: Iterable[str]) -> str:
    """Job modes in words: ``scheduled``, ``scheduled or manual``; a mode this version does
    not know is ``mode X``."""
    words = [MODE_WORDS.get(m, f"mode {m}") for m in modes]
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def missing_set_sentence(modes: Iterable[str], label: str, day: str, *, ran: bool) -> str:
    """A missing-backup summary about a set: ``Scheduled backup of 'Mail' did not run on
    2026-11-22.`` (never "No S backup"), or ``… ran on 2026-11-22.``"""
    verb = "ran" if ran else "did not run"
    return f"{_capital(modes_phrase(modes))} backup of {label} {verb} on {day}."


def missing_user_sentence(modes: Iterable[str], login: str, day: str, jobs: int) -> str:
    """A missing-backup summary about a user whose sets are not known: ``No scheduled
    backup ran at all for acme on 2026-11-22.``, or ``acme ran 2 scheduled backups on …``"""
    kind = modes_phrase(modes)
    if not jobs:
        return f"No {kind} backup ran at all for {login} on {day}."
    return f"{login} ran {jobs} {kind} backup{'' if jobs == 1 else 's'} on {day}."
