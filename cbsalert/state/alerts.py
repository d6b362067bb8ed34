"""Stored alerts and their transitions: what fired, since when, and what people were told.

``decide`` loads what ``reconcile`` (pure) needs and returns its verdict; ``apply`` writes
it. Only the alerts of the run's keys (in chunks) and the firing alerts are loaded, so
100,000 resolved rows cost nothing. Rows are plain columns and bulk statements, not ORM
objects: thousands of alerts would otherwise cost more memory than the rest of the run.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from cbsalert.catchup import DayEvidence, reconcile_days
from cbsalert.model import AlertEvent
from cbsalert.reconcile import ActiveSilence, AlertChange, AlertSnapshot
from cbsalert.rules import RuleBase
from cbsalert.state.storage import CHUNK, Storage, chunks, iso, rowcount
from cbsalert.state.tables import Alert, Transition
from cbsalert.stored import days_failing


class AlertStore:
    """The ``alerts`` and ``transitions`` tables."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def decide(
        self,
        days: Sequence[DayEvidence],
        rules: Mapping[str, RuleBase],
        silences: Collection[ActiveSilence],
        *,
        now: datetime,
    ) -> tuple[list[AlertEvent], list[AlertChange]]:
        """What the days' findings (oldest day first) mean for the stored alerts."""
        existing: dict[str, AlertSnapshot] = {}
        with self._storage.read() as s:
            for chunk in chunks(sorted({f.key for e in days for f in e.findings})):
                rows = s.execute(_SNAPSHOT_SELECT.where(Alert.key.in_(chunk)))
                existing.update((row.key, AlertSnapshot(**row._mapping)) for row in rows)
            # Every firing alert: a rule may resolve one without evidence (a failed restore
            # after a week, a set deleted on the CBS), and a run reports what is firing.
            # Firing alerts are the problems, few next to the users.
            firing = _SNAPSHOT_SELECT.where(Alert.state == "firing")
            existing.update((row.key, AlertSnapshot(**row._mapping)) for row in s.execute(firing))
        return reconcile_days(days, existing, rules, silences, now=now)

    def apply(self, changes: Sequence[AlertChange]) -> None:
        """Store the alerts' new states and their transitions.

        Keys are unique, so the new ids are read back by key (no RETURNING, which older
        SQLite lacks)."""
        fresh = [_columns(c.after) for c in changes if c.after.id is None]
        ids: dict[str, int] = {}
        with self._storage.write() as s:
            for start in range(0, len(fresh), CHUNK):
                chunk = fresh[start : start + CHUNK]
                s.execute(insert(Alert), chunk)
                keys = [row["key"] for row in chunk]
                found = s.execute(select(Alert.key, Alert.id).where(Alert.key.in_(keys)))
                ids.update((key, alert_id) for key, alert_id in found)
            updates = [{"id": c.after.id, **_columns(c.after)} for c in changes if c.after.id]
            if updates:
                s.execute(update(Alert), updates)
            rows = [
                {"alert_id": c.after.id or ids[c.after.key], **asdict(t)}
                for c in changes
                for t in c.transitions
            ]
            if rows:
                s.execute(insert(Transition), rows)

    def stored_keys(self, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` have a stored alert, firing or resolved (in chunks)."""
        found: set[str] = set()
        with self._storage.read() as s:
            for chunk in chunks(sorted(keys)):
                found.update(s.scalars(select(Alert.key).where(Alert.key.in_(chunk))))
        return found

    def listing(
        self,
        include_resolved: bool,
        failures: Mapping[str, list[tuple[str | None, bool]]],
        silences: Sequence[ActiveSilence],
        now: datetime,
        login: str | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts for people to read (of one ``login`` when given), with their failed
        deliveries (``Outbox``) and the first of ``silences`` that mutes each."""
        query = select(Alert).order_by(Alert.state, Alert.login, Alert.rule, Alert.key)
        if not include_resolved:
            query = query.where(Alert.state == "firing")
        if login is not None:
            query = query.where(Alert.login == login)
        with self._storage.read() as s:
            return [
                _alert_dict(row, failures.get(row.key, []), _muted_by(row, silences, now))
                for row in s.scalars(query)
            ]

    def prune(self, cutoff: datetime) -> int:
        """Forget alerts resolved before ``cutoff``, with their transitions; how many."""
        old = select(Alert.id).where(Alert.state == "resolved", Alert.resolved_at < cutoff)
        with self._storage.write() as s:
            s.execute(delete(Transition).where(Transition.alert_id.in_(old)))
            return rowcount(s.execute(delete(Alert).where(Alert.id.in_(old))))


_SNAPSHOT_COLUMNS = (
    "key", "rule", "kind", "severity", "login", "state", "since", "since_day", "last_day",
    "last_fired_day", "owner", "backup_set_id", "backup_set_name", "destination_id",
    "last_notified_at", "notified_severity", "resolved_at", "summary",
)  # fmt: skip


_SNAPSHOT_SELECT = select(Alert.id, *(getattr(Alert, name) for name in _SNAPSHOT_COLUMNS))


def _columns(snap: AlertSnapshot) -> dict[str, Any]:
    return {name: getattr(snap, name) for name in _SNAPSHOT_COLUMNS}


def _muted_by(row: Alert, silences: Sequence[ActiveSilence], now: datetime) -> ActiveSilence | None:
    sets = (row.backup_set_id, row.backup_set_name)
    return next((x for x in silences if x.matches(row.rule, row.login, *sets, now)), None)


def _alert_dict(
    row: Alert, failures: list[tuple[str | None, bool]], silence: ActiveSilence | None
) -> dict[str, Any]:
    return {
        "key": row.key, "rule": row.rule, "kind": row.kind, "severity": row.severity,
        "login": row.login, "owner": row.owner, "backup_set_id": row.backup_set_id,
        "backup_set_name": row.backup_set_name, "destination_id": row.destination_id,
        "state": row.state, "since": iso(row.since), "last_seen": iso(row.last_day),
        "first_failed_day": iso(row.since_day),
        "days_failing": days_failing(row.since_day, row.last_fired_day),
        "last_notified_at": iso(row.last_notified_at), "resolved_at": iso(row.resolved_at),
        "summary": row.summary, "failed_deliveries": len(failures),
        "last_delivery_error": failures[-1][0] if failures else None,
        "permanent_failures": sum(1 for _, permanent in failures if permanent),
        "silence_id": silence.id if silence else None,
        "silenced_until": iso(silence.until) if silence else None,
    }  # fmt: skip
