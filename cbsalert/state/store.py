"""The alert state store: what fired, what was said, what is still owed.

A run uses it in this order, holding the run lock throughout::

    holder = holder_id()
    with store.run_lock(holder, timeout_s=cfg.lock_timeout_s):
        events = store.reconcile(findings, rules, day=day, now=now, checked_logins=checked,
                                 plan=lambda events: [(notifier, context, keys), ...])
        for owed in store.claim_owed(holder, max_attempts=cfg.max_attempts, now=now):
            notifier.send(owed.context), then store.mark_sent(owed.id, now=...)
            or store.mark_failed(owed.id, error, permanent=..., now=...)

The state change and the messages it owes are written in one transaction before anything
is sent, so a run killed at any point loses nothing; at worst the message that was being
sent goes out twice. ``reconcile(..., dry_run=True)`` reads the same and writes nothing.

Each watched user's last day checked in full (``checked_through``, for catching up missed
days, see ``cbsalert.catchup``) is written in the same transaction as the alert changes.

Tables live in ``cbsalert.state.tables``; the decisions in ``cbsalert.reconcile`` (pure);
the run lock in ``cbsalert.state.runlock`` and the delivery queue in
``cbsalert.state.outbox``, both parts of ``StateStore``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from cbsalert.catchup import DayEvidence, reconcile_days
from cbsalert.errors import StateError, UsageError
from cbsalert.model import AlertEvent, Finding
from cbsalert.reconcile import ActiveSilence, AlertChange, AlertSnapshot
from cbsalert.rules import RuleBase
from cbsalert.state.engine import missing_sqlite_file, safe_url
from cbsalert.state.outbox import DeliveryPlan, Outbox, OwedDelivery, PlanDeliveries
from cbsalert.state.runlock import RunLocks, holder_id
from cbsalert.state.storage import CHUNK, chunks, iso, rowcount
from cbsalert.state.tables import (
    Alert,
    CarriedJobRow,
    CheckedDay,
    Delivery,
    DeliveryAlert,
    RunSlot,
    SeenSet,
    Silence,
    Transition,
)

__all__ = [
    "DeliveryPlan", "OwedDelivery", "PlanDeliveries", "SilenceNotFoundError", "StateStore",
    "holder_id", "open_existing_store", "open_store",
]  # fmt: skip

log = logging.getLogger(__name__)


class SilenceNotFoundError(UsageError):
    """``remove_silence`` was given an id that is not stored: the person's mistake (exit 2),
    not the database's."""


class StateStore(RunLocks, Outbox):
    """The state database behind a small API; every expected failure is a ``StateError``.

    The run lock and slots come from ``RunLocks``, the delivery queue from ``Outbox``;
    here are the alerts themselves, the sets seen, silences, listing and pruning."""

    # -- reconcile -----------------------------------------------------------------------------

    def reconcile(
        self,
        findings: Sequence[Finding],
        rules: Mapping[str, RuleBase],
        *,
        day: date,
        now: datetime,
        checked_logins: Collection[str],
        sets_on_cbs: Mapping[str, Collection[str]] | None = None,
        dry_run: bool = False,
        plan: PlanDeliveries | None = None,
    ) -> list[AlertEvent]:
        """``reconcile_days`` for one day's findings."""
        evidence = DayEvidence(day, findings, checked_logins, sets_on_cbs or {})
        return self.reconcile_days([evidence], rules, now=now, dry_run=dry_run, plan=plan)

    def reconcile_days(
        self,
        days: Sequence[DayEvidence],
        rules: Mapping[str, RuleBase],
        *,
        now: datetime,
        dry_run: bool = False,
        plan: PlanDeliveries | None = None,
        checked_through: Mapping[str, date] | None = None,
    ) -> list[AlertEvent]:
        """Decide what the days' findings mean for the stored alerts (oldest day first), and
        (unless ``dry_run``) store it: alert changes, transitions, the pending deliveries
        that ``plan`` makes of the events and the users' new ``checked_through`` days are
        written in ONE transaction, before anything is sent.

        Loads only the alerts of this run's keys (in chunks) and the firing alerts (also those
        of sets deleted on the CBS, which ``sets_on_cbs`` resolves), so
        100,000 resolved rows cost nothing. A dry run reads and writes nothing.
        """
        with self._read() if dry_run else self._write() as s:
            events, changes = self._decide(s, days, rules, now)
            if not dry_run:
                self._apply(s, changes)
                self._insert_deliveries(s, plan(events) if plan else (), now)
                self._record_checked(s, checked_through or {}, now)
        return events

    def _decide(
        self,
        s: Session,
        days: Sequence[DayEvidence],
        rules: Mapping[str, RuleBase],
        now: datetime,
    ) -> tuple[list[AlertEvent], list[AlertChange]]:
        # Plain rows, not ORM objects: thousands of alerts cost a third of the memory.
        existing: dict[str, AlertSnapshot] = {}
        for chunk in chunks(sorted({f.key for e in days for f in e.findings})):
            rows = s.execute(_SNAPSHOT_SELECT.where(Alert.key.in_(chunk)))
            existing.update((row.key, AlertSnapshot(**row._mapping)) for row in rows)
        # Every firing alert: a restore may auto-resolve, and a run reports what is firing,
        # evidence or not. Firing alerts are the problems, few next to the users.
        firing = _SNAPSHOT_SELECT.where(Alert.state == "firing")
        existing.update((row.key, AlertSnapshot(**row._mapping)) for row in s.execute(firing))
        silences = [_silence(row) for row in s.scalars(select(Silence).where(Silence.until > now))]
        return reconcile_days(days, existing, rules, silences, now=now)

    def stored_keys(self, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` have a stored alert, firing or resolved (in chunks)."""
        found: set[str] = set()
        with self._read() as s:
            for chunk in chunks(sorted(keys)):
                found.update(s.scalars(select(Alert.key).where(Alert.key.in_(chunk))))
        return found

    def _apply(self, s: Session, changes: Sequence[AlertChange]) -> None:
        # Bulk statements and plain dicts: a first run over thousands of users stores
        # thousands of alerts, and ORM objects for them cost more memory than the rest of
        # the run. Keys are unique, so the new ids are read back by key (no RETURNING,
        # which older SQLite lacks).
        fresh = [_columns(c.after) for c in changes if c.after.id is None]
        ids: dict[str, int] = {}
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

    # -- days checked (catch-up) ----------------------------------------------------------------

    def checked_through(self, logins: Sequence[str]) -> dict[str, date]:
        """Per login that has one, the last day it was checked in full (see ``catchup``)."""
        out: dict[str, date] = {}
        with self._read() as s:
            for chunk in chunks(sorted(set(logins))):
                query = select(CheckedDay.login, CheckedDay.last_day)
                for login, last_day in s.execute(query.where(CheckedDay.login.in_(chunk))):
                    out[login] = last_day
        return out

    def _record_checked(self, s: Session, days: Mapping[str, date], now: datetime) -> None:
        for chunk in chunks(sorted(days)):
            known = set(s.scalars(select(CheckedDay.login).where(CheckedDay.login.in_(chunk))))
            rows = [{"login": login, "last_day": days[login], "checked_at": now} for login in chunk]
            fresh = [row for row in rows if row["login"] not in known]
            if fresh:
                s.execute(insert(CheckedDay), fresh)
            if len(fresh) < len(rows):
                s.execute(update(CheckedDay), [row for row in rows if row["login"] in known])

    # -- backup sets seen ----------------------------------------------------------------------

    def record_sets(self, day: date, sets: Mapping[str, Mapping[str, str]]) -> None:
        """Remember the sets seen per user on ``day`` (first and last day seen).

        Chunk by chunk, with plain rows and bulk statements: ten thousand users' sets are
        read, compared and written without holding an ORM object for each."""
        columns = (SeenSet.login, SeenSet.set_id, SeenSet.set_name, SeenSet.first_seen,
                   SeenSet.last_seen)  # fmt: skip
        with self._write() as s:
            for chunk in chunks(sorted(sets)):
                known = {
                    (row.login, row.set_id): row
                    for row in s.execute(select(*columns).where(SeenSet.login.in_(chunk)))
                }
                fresh: list[dict[str, Any]] = []
                changed: list[dict[str, Any]] = []
                for login in chunk:
                    for set_id, name in sets[login].items():
                        row = known.get((login, set_id))
                        if row is None:
                            fresh.append({"login": login, "set_id": set_id, "set_name": name or "",
                                          "first_seen": day, "last_seen": day})  # fmt: skip
                            continue
                        after = {
                            "login": login,
                            "set_id": set_id,
                            "set_name": (name or row.set_name)
                            if day >= row.last_seen
                            else row.set_name,
                            "first_seen": min(row.first_seen, day),
                            "last_seen": max(row.last_seen, day),
                        }
                        if tuple(after.values()) != tuple(row):
                            changed.append(after)
                if fresh:
                    s.execute(insert(SeenSet), fresh)
                if changed:
                    s.execute(update(SeenSet), changed)

    def seen_sets(self, logins: Sequence[str], since: date) -> dict[str, dict[str, str]]:
        """Per login (every one asked about), the sets seen on or after ``since``."""
        out: dict[str, dict[str, str]] = {login: {} for login in logins}
        with self._read() as s:
            for chunk in chunks(sorted(set(logins))):
                query = select(SeenSet.login, SeenSet.set_id, SeenSet.set_name).where(
                    SeenSet.login.in_(chunk), SeenSet.last_seen >= since
                )
                for row in s.execute(query.order_by(SeenSet.set_id)):
                    out[row.login][row.set_id] = row.set_name
        return out

    # -- silences, listing, pruning ----------------------------------------------------------

    def add_silence(
        self,
        rule: str,
        login: str,
        backup_set: str | None,
        until: datetime,
        reason: str,
        created_by: str,
        *,
        now: datetime | None = None,
    ) -> int:
        """Mute alerts matching the patterns until ``until`` (an aware datetime)."""
        if until.tzinfo is None:
            raise StateError("a silence needs an end time with a time zone")
        row = Silence(
            rule=rule, login=login, backup_set=backup_set, until=until, reason=reason,
            created_by=created_by, created_at=now or self._clock(),
        )  # fmt: skip
        with self._write() as s:
            s.add(row)
            s.flush()
            return row.id

    def list_silences(
        self, include_expired: bool = False, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        now = now or self._clock()
        query = select(Silence).order_by(Silence.until, Silence.id)
        if not include_expired:
            query = query.where(Silence.until > now)
        with self._read() as s:
            return [
                {**asdict(_silence(row)), "until": iso(row.until),
                 "created_at": iso(row.created_at), "active": row.until > now}
                for row in s.scalars(query)
            ]  # fmt: skip

    def remove_silence(self, silence_id: int) -> None:
        with self._write() as s:
            result = s.execute(delete(Silence).where(Silence.id == silence_id))
            if rowcount(result) != 1:
                raise SilenceNotFoundError(
                    f"no silence with id {silence_id} (see `cbsalert silences`)"
                )

    def list_alerts(
        self, include_resolved: bool = False, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Alerts for people to read: firing ones (and resolved ones if asked), with the
        deliveries about them that failed (permanent ones included) and the active silence
        that mutes each (``silence_id``, ``silenced_until``; the one lasting longest)."""
        now = now or self._clock()
        query = select(Alert).order_by(Alert.state, Alert.login, Alert.rule, Alert.key)
        if not include_resolved:
            query = query.where(Alert.state == "firing")
        failed = (
            select(DeliveryAlert.alert_key, Delivery.last_error, Delivery.permanent)
            .join(Delivery, Delivery.id == DeliveryAlert.delivery_id)
            .where(Delivery.status == "failed")
            .order_by(Delivery.id)
        )
        with self._read() as s:
            errors: dict[str, list[tuple[str | None, bool]]] = {}
            for key, error, permanent in s.execute(failed):
                errors.setdefault(key, []).append((error, permanent))
            active = select(Silence).where(Silence.until > now).order_by(Silence.until.desc())
            silences = [_silence(row) for row in s.scalars(active)]
            return [
                _alert_dict(row, errors.get(row.key, []), _muted_by(row, silences, now))
                for row in s.scalars(query)
            ]

    def prune(self, retention_days: int, now: datetime) -> int:
        """Forget alerts resolved, deliveries finished and silences expired more than
        ``retention_days`` ago. Returns the number of alerts deleted."""
        cutoff = now - timedelta(days=retention_days)
        old = select(Alert.id).where(Alert.state == "resolved", Alert.resolved_at < cutoff)
        done = select(Delivery.id).where(
            Delivery.created_at < cutoff, Delivery.status.in_(("sent", "failed"))
        )
        with self._write() as s:
            s.execute(delete(Transition).where(Transition.alert_id.in_(old)))
            count = rowcount(s.execute(delete(Alert).where(Alert.id.in_(old))))
            s.execute(delete(DeliveryAlert).where(DeliveryAlert.delivery_id.in_(done)))
            s.execute(delete(Delivery).where(Delivery.id.in_(done)))
            s.execute(delete(Silence).where(Silence.until < cutoff))
            s.execute(delete(SeenSet).where(SeenSet.last_seen < cutoff.date()))
            s.execute(delete(CheckedDay).where(CheckedDay.last_day < cutoff.date()))
            s.execute(delete(RunSlot).where(RunSlot.started_at < cutoff))
            s.execute(delete(CarriedJobRow).where(CarriedJobRow.day < cutoff.date()))
        return count


def open_store(url: str, *, auto_upgrade: bool, secrets: Sequence[str] = ()) -> StateStore:
    """A store whose schema is current: SQLite is upgraded on the spot when
    ``auto_upgrade``; any other database must be upgraded with ``cbsalert db upgrade``.

    Without ``auto_upgrade`` (a dry run), a SQLite file that does not exist yet is not
    created: the store reads an empty state kept in memory.
    """
    store = StateStore(url, secrets=secrets)
    if not auto_upgrade and missing_sqlite_file(store.engine):
        store.close()
        log.info("state database %s does not exist yet: reading an empty state", safe_url(url))
        store = StateStore("sqlite://", secrets=secrets)
        auto_upgrade = True
    try:
        if auto_upgrade and store.engine.dialect.name == "sqlite":
            store.upgrade()
        else:
            store.check_schema()
    except BaseException:
        store.close()
        raise
    return store


def open_existing_store(url: str, *, secrets: Sequence[str] = ()) -> StateStore:
    """The store for commands that look at what is stored (``alerts``, ``silences``,
    ``unsilence``): they never create a database, so that a wrong or relative ``state``
    path says so instead of showing an empty state that looks like "nothing is firing"."""
    probe = StateStore(url, secrets=secrets)
    missing = missing_sqlite_file(probe.engine)
    path = Path(probe.engine.url.database or "").resolve()
    probe.close()
    if missing:
        raise StateError(
            f"no state database at {path}: nothing was checked with this config yet, or "
            "`state` points elsewhere; `cbsalert check` creates it (or `cbsalert db upgrade`)"
        )
    return open_store(url, auto_upgrade=True, secrets=secrets)


_SNAPSHOT_COLUMNS = (
    "key", "rule", "kind", "severity", "login", "state", "since", "since_day", "last_day",
    "last_fired_day", "owner", "backup_set_id", "backup_set_name", "destination_id",
    "last_notified_at", "notified_severity", "resolved_at", "summary",
)  # fmt: skip


_SNAPSHOT_SELECT = select(Alert.id, *(getattr(Alert, name) for name in _SNAPSHOT_COLUMNS))


def _columns(snap: AlertSnapshot) -> dict[str, Any]:
    return {name: getattr(snap, name) for name in _SNAPSHOT_COLUMNS}


def _silence(row: Silence) -> ActiveSilence:
    return ActiveSilence(
        row.id, row.rule, row.login, row.backup_set, row.until, row.reason, row.created_by
    )


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
        "last_notified_at": iso(row.last_notified_at), "resolved_at": iso(row.resolved_at),
        "summary": row.summary, "failed_deliveries": len(failures),
        "last_delivery_error": failures[-1][0] if failures else None,
        "permanent_failures": sum(1 for _, permanent in failures if permanent),
        "silence_id": silence.id if silence else None,
        "silenced_until": iso(silence.until) if silence else None,
    }  # fmt: skip
