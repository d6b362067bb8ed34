"""Builders shared by test_reconcile.py and test_state.py: findings, rules, a day at a time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cbsalert.model import Finding
from cbsalert.reconcile import AlertChange, AlertSnapshot
from cbsalert.rules import BackupStatusRule, RestoreStatusRule, RuleBase

DAY1 = date(2026, 11, 20)


def day(n: int) -> date:
    """The n-th day of the test calendar (1-based)."""
    return DAY1 + timedelta(days=n - 1)


def morning(n: int, seconds: int = 0) -> datetime:
    """07:00 UTC the morning after day n, when a daily check of day n runs."""
    return datetime.combine(day(n) + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
        hours=7, seconds=seconds
    )


def backup_rule(rule_id: str = "backup-failed", **fields: Any) -> BackupStatusRule:
    return BackupStatusRule.model_validate({"id": rule_id, "notify": ["ops"], **fields})


def restore_rule(rule_id: str = "restore-failed", **fields: Any) -> RestoreStatusRule:
    return RestoreStatusRule.model_validate({"id": rule_id, "notify": ["ops"], **fields})


def rules_of(*rules: RuleBase) -> dict[str, RuleBase]:
    return {r.id: r for r in rules}


def backup(
    n: int,
    firing: bool = True,
    *,
    login: str = "alice",
    set_id: str | None = "S1",
    rule: str = "backup-failed",
    **fields: Any,
) -> Finding:
    """A backup_status finding about ``login``'s set on day n."""
    status = "BS_STOP_FAILED" if firing else "BS_STOP_SUCCESS"
    name = f"Set {set_id}" if set_id else None
    values: dict[str, Any] = {
        "rule": rule,
        "kind": "backup_status",
        "severity": "critical",
        "firing": firing,
        "login": login,
        "day": day(n),
        "owner": "Alice",
        "backup_set_id": set_id,
        "backup_set_name": name,
        "destination_id": "D1",
        "status": status,
        "summary": f"Backup of '{name}' {'failed with' if firing else 'ended with'} {status}.",
    }
    return Finding(**{**values, **fields})


def restore(n: int, firing: bool = True, *, login: str = "alice", set_id: str = "S1") -> Finding:
    status = "RESTORE_STOP_FAILED" if firing else "RESTORE_STOP_SUCCESS"
    return Finding(
        rule="restore-failed",
        kind="restore_status",
        severity="critical",
        firing=firing,
        login=login,
        day=day(n),
        backup_set_id=set_id,
        backup_set_name=f"Set {set_id}",
        status=status,
        summary=f"Restore from 'Set {set_id}' ended with {status}.",
    )


def applied(
    existing: Mapping[str, AlertSnapshot], changes: list[AlertChange]
) -> dict[str, AlertSnapshot]:
    """The stored alerts after ``changes``, as the store would keep them (ids assigned)."""
    out = dict(existing)
    for change in changes:
        after = change.after
        if after.id is None:
            after = replace(after, id=len(out) + 1000)
        out[after.key] = after
    return out
