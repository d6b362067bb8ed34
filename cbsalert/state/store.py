"""``StateStore``: the parts of the state store, composed over one ``Storage``.

Each part has one job and knows only the storage: ``alerts`` (stored alerts and
transitions), ``silences``, ``outbox`` (owed deliveries), ``lock`` (the run lock),
``slots`` (scheduled runs done), ``seen`` (backup sets seen), ``checked`` (each user's last
day checked), ``carried`` (jobs still running at a check) and ``job_history`` (every job a
check saw, kept ``history_days``). Callers use the parts
directly. What spans several parts is written here, and only here: a run's reconcile (alert
changes, the messages they owe and the days checked, in ONE transaction, before anything
is sent), the alert listing (alerts with their failed deliveries and silences) and pruning.

A run uses it in this order::

    with store.lock.hold(holder_id(), timeout_s=cfg.lock_timeout_s) as lock:
        store.outbox.requeue_interrupted(lock)   # what a killed run left "sending"
        events = store.reconcile_days(days, rules, now=now, plan=..., checked_through=...)
        for owed in store.outbox.claim_owed(lock, max_attempts=cfg.max_attempts, now=now):
            notifier.send(owed.context), then store.outbox.mark_sent(owed.id, now=...)
            or store.outbox.mark_failed(owed.id, error, permanent=...)

A run killed at any point loses nothing; at worst the message that was being sent goes out
twice. ``reconcile_days(..., dry_run=True)`` reads the same and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cbsalert.catchup import DayEvidence
from cbsalert.errors import StateError
from cbsalert.model import AlertEvent, Finding
from cbsalert.rules import RuleBase
from cbsalert.state import schema
from cbsalert.state.alerts import AlertStore
from cbsalert.state.carried import CarriedJobs
from cbsalert.state.engine import missing_sqlite_file, safe_url
from cbsalert.state.history import CheckedDays, SeenSets
from cbsalert.state.jobhistory import JobHistory
from cbsalert.state.outbox import Outbox, PlanDeliveries
from cbsalert.state.runlock import RunLock, RunSlots
from cbsalert.state.silences import Silences
from cbsalert.state.storage import Storage

log = logging.getLogger(__name__)


class StateStore:
    """The state database's parts over one storage; every expected failure of any of them
    is a ``StateError``."""

    def __init__(
        self,
        url: str,
        *,
        secrets: Sequence[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.storage = storage = Storage(url, secrets=secrets, clock=clock)
        self.alerts = AlertStore(storage)
        self.silences = Silences(storage)
        self.outbox = Outbox(storage)
        self.lock = RunLock(storage)
        self.slots = RunSlots(storage)
        self.seen = SeenSets(storage)
        self.checked = CheckedDays(storage)
        self.carried = CarriedJobs(storage)
        self.job_history = JobHistory(storage)

    @property
    def url(self) -> str:
        return self.storage.url

    @property
    def engine(self) -> Engine:
        return self.storage.engine

    def upgrade(self) -> None:
        schema.upgrade(self.storage.engine)

    def check_schema(self) -> None:
        schema.check_revision(self.storage.engine)

    def close(self) -> None:
        self.storage.close()

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
        written in ONE transaction, before anything is sent. A dry run writes nothing.
        """
        with self.storage.read() if dry_run else self.storage.write():
            silences = self.silences.active(now)
            events, changes = self.alerts.decide(days, rules, silences, now=now)
            if not dry_run:
                self.alerts.apply(changes)
                self.outbox.enqueue(plan(events) if plan else (), now=now)
                self.checked.record(checked_through or {}, now=now)
        return events

    def list_alerts(
        self,
        include_resolved: bool = False,
        *,
        now: datetime | None = None,
        login: str | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts for people to read: firing ones (and resolved ones if asked; of one
        ``login`` when given, the status page's user page), with the
        deliveries about them that failed (permanent ones included) and the active silence
        that mutes each (``silence_id``, ``silenced_until``; the one lasting longest)."""
        now = now or self.storage.now()
        with self.storage.read():
            failures = self.outbox.failures_by_alert()
            silences = self.silences.active(now)
            return self.alerts.listing(include_resolved, failures, silences, now, login)

    def prune(self, retention_days: int, now: datetime, history_days: int | None = None) -> int:
        """Forget alerts resolved, deliveries finished, silences expired, and history older
        than ``retention_days`` (job history: than ``history_days``, when given), in one
        transaction. Returns the number of alerts deleted."""
        cutoff = now - timedelta(days=retention_days)
        with self.storage.write():
            count = self.alerts.prune(cutoff)
            self.outbox.prune(cutoff)
            self.silences.prune(cutoff)
            self.seen.prune(cutoff.date())
            self.checked.prune(cutoff.date())
            self.slots.prune(cutoff)
            self.carried.prune(cutoff.date())
            if history_days is not None:
                self.job_history.prune((now - timedelta(days=history_days)).date())
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
