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

Tables live in ``cbsalert.db``; the decisions in ``cbsalert.reconcile`` (pure).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Result, and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from cbsalert import db
from cbsalert.db import (
    Alert,
    Delivery,
    DeliveryAlert,
    RunLock,
    RunSlot,
    SeenSet,
    Silence,
    Transition,
)
from cbsalert.errors import LockTimeoutError, StateError, redact
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import MessageContext
from cbsalert.reconcile import ActiveSilence, AlertChange, AlertSnapshot, reconcile_findings
from cbsalert.rules import RuleBase

log = logging.getLogger(__name__)

CHUNK = 500  # keys per IN (...): well under SQLite's and PostgreSQL's parameter limits
LOCK_NAME = "run"
# A permanent failure (a revoked token, a deleted webhook) is not retried on every run, so a
# service checking every few minutes does not hammer a provider that refuses it; a daily
# check retries it on its next run, which delivers it once someone has fixed the config.
PERMANENT_RETRY_AFTER = timedelta(hours=20)
INTERRUPTED = "interrupted: the run sending it stopped before recording the result"
NO_SYNC = {"synchronize_session": False}
DeliveryPlan = tuple[str, MessageContext, Sequence[str]]  # notifier name, context, alert keys
PlanDeliveries = Callable[[list[AlertEvent]], Iterable[DeliveryPlan]]


class SilenceNotFoundError(StateError):
    """``remove_silence`` was given an id that is not stored."""


@dataclass(frozen=True)
class OwedDelivery:
    """A delivery claimed for sending. ``attempts`` counts this one.

    The context stays JSON until it is sent: a first run's digest of thousands of alerts
    is parsed one delivery at a time, not all at once."""

    id: int
    notifier: str
    context_json: str
    attempts: int
    alert_keys: tuple[str, ...]

    @property
    def context(self) -> MessageContext:
        context: MessageContext = json.loads(self.context_json)
        return context


def holder_id(label: str = "run") -> str:
    """A lock holder name unique to this process and call, readable in messages."""
    return f"{label}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


_HOLDER = re.compile(r"^(?:[^@]*@)?(?P<host>[^:@]+):(?P<pid>\d+)(?::[0-9a-f]+)?$")


def _dead_local_holder(holder: str) -> bool:
    """Whether a lock holder (``host:pid`` or ``holder_id()``) names a process on this
    host that has exited. Unknown formats, other hosts and live processes are not dead."""
    match = _HOLDER.match(holder)
    if match is None or match.group("host") != socket.gethostname():
        return False
    pid = int(match.group("pid"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, under another user
        return False
    return False


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class StateStore:
    """The state database behind a small API; every expected failure is a ``StateError``."""

    def __init__(
        self,
        url: str,
        *,
        secrets: Sequence[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = url
        self._secrets = [*secrets, *db.url_secrets(url)]
        self.engine = db.create_state_engine(url)
        self._writer = db.writer(self.engine)
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- plumbing ------------------------------------------------------------------------------

    def upgrade(self) -> None:
        db.upgrade(self.engine)

    def check_schema(self) -> None:
        db.check_revision(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with (
            db.translate_errors(self.url, "read", self._secrets),
            Session(self.engine, expire_on_commit=False) as s,
            s.begin(),
        ):
            yield s

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with (
            db.translate_errors(self.url, "write", self._secrets),
            Session(self._writer, expire_on_commit=False) as s,
            s.begin(),
        ):
            yield s

    # -- run lock ------------------------------------------------------------------------------

    @contextmanager
    def run_lock(self, holder: str, timeout_s: float, ttl_s: float = 600.0) -> Iterator[None]:
        """Hold the database-wide run lock; wait up to ``timeout_s``, then LockTimeoutError.

        The lock is a row claimed with a conditional UPDATE and kept alive by a heartbeat
        thread; a holder that was killed stops beating and its lock expires after ``ttl_s``.
        """
        deadline = time.monotonic() + timeout_s
        while not self._try_lock(holder, ttl_s):
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockTimeoutError(self._lock_message(timeout_s))
            time.sleep(min(0.2, left))
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(holder, ttl_s, stop), name="cbsalert-lock", daemon=True
        )
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            try:
                with self._write() as s:
                    s.execute(
                        update(RunLock)
                        .where(RunLock.name == LOCK_NAME, RunLock.holder == holder)
                        .values(holder=None, acquired_at=None, expires_at=None)
                    )
            except StateError as error:  # it expires after ttl_s; don't hide the real error
                log.warning("could not release the run lock: %s", error)

    def _try_lock(self, holder: str, ttl_s: float) -> bool:
        """Claim the lock row; on success, whatever an earlier run left "sending" is owed
        again (that run is gone: it released the lock, or was killed and its lock expired).

        A lock whose holder was a process on this host that no longer exists is free at
        once: a run killed by SIGKILL or the OOM killer must not block the next cron run
        for ``ttl_s``.
        """
        now = self._clock()
        with self._write() as s:
            free = or_(RunLock.holder.is_(None), RunLock.expires_at <= now)
            current = s.scalar(select(RunLock.holder).where(RunLock.name == LOCK_NAME))
            if current is not None and _dead_local_holder(current):
                free = or_(free, RunLock.holder == current)
            result = s.execute(
                update(RunLock)
                .where(RunLock.name == LOCK_NAME, free)
                .values(holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=ttl_s))
            )
            if _rowcount(result) != 1:
                return False
            if current is not None:
                log.warning("took over the run lock from %s: that run is gone", current)
            s.execute(
                update(Delivery)
                .where(Delivery.status == "sending")
                .values(status="failed", last_error=INTERRUPTED, claim_token=None),
                execution_options=NO_SYNC,
            )
            return True

    def _heartbeat(self, holder: str, ttl_s: float, stop: threading.Event) -> None:
        while not stop.wait(max(ttl_s / 3, 0.05)):
            try:
                now = self._clock()
                with self._write() as s:
                    result = s.execute(
                        update(RunLock)
                        .where(RunLock.name == LOCK_NAME, RunLock.holder == holder)
                        .values(expires_at=now + timedelta(seconds=ttl_s))
                    )
                if _rowcount(result) != 1:
                    log.error("lost the run lock (%s): another run took it over", holder)
                    return
            except StateError as error:
                log.warning("could not renew the run lock: %s", error)

    def _lock_message(self, timeout_s: float) -> str:
        with self._read() as s:
            row = s.get(RunLock, LOCK_NAME)
            holder, since = (row.holder, row.acquired_at) if row else (None, None)
        return (
            f"another cbsalert run holds the state database lock ({holder or 'unknown'}, "
            f"since {_iso(since) or 'unknown'}); gave up after {timeout_s:g} s"
        )

    # -- scheduled run slots -------------------------------------------------------------------

    def claim_slot(self, slot: str, holder: str, *, now: datetime) -> bool:
        """Claim the scheduled run ``slot`` (its fire time) for ``holder``, who holds the
        run lock. False when another instance has already done it; a slot whose run died
        before finishing is taken over, so its work is not lost."""
        with self._write() as s:
            row = s.get(RunSlot, slot)
            if row is not None and row.finished_at is not None:
                return False
            if row is None:
                s.add(RunSlot(slot=slot, holder=holder, started_at=now))
            else:
                log.warning("taking over scheduled run %s from %s, which died", slot, row.holder)
                row.holder, row.started_at = holder, now
            return True

    def finish_slot(self, slot: str, *, now: datetime) -> None:
        with self._write() as s:
            s.execute(update(RunSlot).where(RunSlot.slot == slot).values(finished_at=now))

    # -- reconcile -----------------------------------------------------------------------------

    def reconcile(
        self,
        findings: Sequence[Finding],
        rules: Mapping[str, RuleBase],
        *,
        day: date,
        now: datetime,
        checked_logins: Collection[str],
        dry_run: bool = False,
        plan: PlanDeliveries | None = None,
    ) -> list[AlertEvent]:
        """Decide what the findings mean for the stored alerts, and (unless ``dry_run``)
        store it: alert changes, transitions and the pending deliveries that ``plan`` makes
        of the events are written in ONE transaction, before anything is sent.

        Loads only the alerts of this run's keys (in chunks) and the firing restore alerts,
        so 100,000 resolved rows cost nothing. A dry run reads and writes nothing.
        """
        with self._read() if dry_run else self._write() as s:
            events, changes = self._decide(s, findings, rules, day, now, checked_logins)
            if not dry_run:
                self._apply(s, changes)
                self._insert_deliveries(s, plan(events) if plan else (), now)
        return events

    def _decide(
        self,
        s: Session,
        findings: Sequence[Finding],
        rules: Mapping[str, RuleBase],
        day: date,
        now: datetime,
        checked_logins: Collection[str],
    ) -> tuple[list[AlertEvent], list[AlertChange]]:
        # Plain rows, not ORM objects: thousands of alerts cost a third of the memory.
        existing: dict[str, AlertSnapshot] = {}
        for chunk in _chunks(sorted({f.key for f in findings})):
            rows = s.execute(_SNAPSHOT_SELECT.where(Alert.key.in_(chunk)))
            existing.update((row.key, AlertSnapshot(**row._mapping)) for row in rows)
        restores = _SNAPSHOT_SELECT.where(Alert.state == "firing", Alert.kind == "restore_status")
        existing.update((row.key, AlertSnapshot(**row._mapping)) for row in s.execute(restores))
        silences = [_silence(row) for row in s.scalars(select(Silence).where(Silence.until > now))]
        return reconcile_findings(
            findings, existing, rules, silences, day=day, now=now, checked_logins=checked_logins
        )

    def stored_keys(self, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` have a stored alert, firing or resolved (in chunks)."""
        found: set[str] = set()
        with self._read() as s:
            for chunk in _chunks(sorted(keys)):
                found.update(s.scalars(select(Alert.key).where(Alert.key.in_(chunk))))
        return found

    def enqueue(self, deliveries: Iterable[DeliveryPlan], *, now: datetime) -> list[int]:
        """Pending deliveries on their own (test messages, meta alerts)."""
        with self._write() as s:
            return self._insert_deliveries(s, deliveries, now)

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

    def _insert_deliveries(
        self, s: Session, deliveries: Iterable[DeliveryPlan], now: datetime
    ) -> list[int]:
        """One row per planned message, each written as soon as it is planned, so only
        one context (a digest may hold thousands of alerts) is in memory at a time."""
        ids: list[int] = []
        for notifier, context, keys in deliveries:
            row = Delivery(
                notifier=notifier,
                status="pending",
                context=json.dumps(_redact_strings(context, self._secrets), default=str),
                attempts=0,
                permanent=False,
                created_at=now,
            )
            s.add(row)
            s.flush()
            links = [{"delivery_id": row.id, "alert_key": key} for key in dict.fromkeys(keys)]
            if links:
                s.execute(insert(DeliveryAlert), links)
            ids.append(row.id)
            s.expunge(row)
        return ids

    # -- deliveries ----------------------------------------------------------------------------

    def claim_owed(self, holder: str, *, max_attempts: int, now: datetime) -> list[OwedDelivery]:
        """Claim the owed deliveries (pending, or failed with attempts left and either
        transient or permanent but last tried ``PERMANENT_RETRY_AFTER`` ago) for
        ``holder``, which must hold the run lock: the lock is exclusive, so no two
        claimers ever get the same row. Each claim counts as an attempt.
        """
        token = uuid.uuid4().hex
        owed = and_(
            Delivery.status.in_(("pending", "failed")),
            or_(
                Delivery.permanent.is_(False),
                Delivery.last_attempt_at <= now - PERMANENT_RETRY_AFTER,
            ),
            Delivery.attempts < max_attempts,
        )
        with self._write() as s:
            lock = select(RunLock.holder).where(RunLock.name == LOCK_NAME).with_for_update()
            if s.scalar(lock) != holder:
                raise StateError(f"{holder} must hold the run lock to claim deliveries")
            s.execute(
                update(Delivery)
                .where(owed)
                .values(
                    status="sending",
                    claimed_by=holder,
                    claim_token=token,
                    attempts=Delivery.attempts + 1,
                    last_attempt_at=now,
                ),
                execution_options=NO_SYNC,
            )
            columns = (Delivery.id, Delivery.notifier, Delivery.context, Delivery.attempts)
            rows = s.execute(
                select(*columns).where(Delivery.claim_token == token).order_by(Delivery.id)
            ).all()
            links = s.execute(
                select(DeliveryAlert.delivery_id, DeliveryAlert.alert_key)
                .join(Delivery, Delivery.id == DeliveryAlert.delivery_id)
                .where(Delivery.claim_token == token)
                .order_by(DeliveryAlert.alert_key)
            ).all()
        keys: dict[int, list[str]] = {}
        for delivery_id, key in links:
            keys.setdefault(delivery_id, []).append(key)
        return [
            OwedDelivery(r.id, r.notifier, r.context, r.attempts, tuple(keys.get(r.id, [])))
            for r in rows
        ]

    def mark_sent(self, delivery_id: int, *, now: datetime) -> None:
        self._mark(delivery_id, status="sent", sent_at=now, claim_token=None)

    def mark_failed(self, delivery_id: int, error: str, *, permanent: bool, now: datetime) -> None:
        """Record a failed attempt; a permanent failure is never claimed again."""
        text = self._redact(error)[:4000]
        self._mark(
            delivery_id, status="failed", permanent=permanent, last_error=text, claim_token=None
        )

    def _mark(self, delivery_id: int, **values: Any) -> None:
        with self._write() as s:
            result = s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
            if _rowcount(result) != 1:
                raise StateError(f"no delivery with id {delivery_id} in the state database")

    # -- backup sets seen ----------------------------------------------------------------------

    def record_sets(self, day: date, sets: Mapping[str, Mapping[str, str]]) -> None:
        """Remember the sets seen per user on ``day`` (first and last day seen).

        Chunk by chunk, with plain rows and bulk statements: ten thousand users' sets are
        read, compared and written without holding an ORM object for each."""
        columns = (SeenSet.login, SeenSet.set_id, SeenSet.set_name, SeenSet.first_seen,
                   SeenSet.last_seen)  # fmt: skip
        with self._write() as s:
            for chunk in _chunks(sorted(sets)):
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
            for chunk in _chunks(sorted(set(logins))):
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
                {**asdict(_silence(row)), "until": _iso(row.until),
                 "created_at": _iso(row.created_at), "active": row.until > now}
                for row in s.scalars(query)
            ]  # fmt: skip

    def remove_silence(self, silence_id: int) -> None:
        with self._write() as s:
            result = s.execute(delete(Silence).where(Silence.id == silence_id))
            if _rowcount(result) != 1:
                raise SilenceNotFoundError(
                    f"no silence with id {silence_id} (see `cbsalert silences`)"
                )

    def list_alerts(self, include_resolved: bool = False) -> list[dict[str, Any]]:
        """Alerts for people to read: firing ones (and resolved ones if asked), with the
        deliveries about them that failed (permanent ones included)."""
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
            return [_alert_dict(row, errors.get(row.key, [])) for row in s.scalars(query)]

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
            count = _rowcount(s.execute(delete(Alert).where(Alert.id.in_(old))))
            s.execute(delete(DeliveryAlert).where(DeliveryAlert.delivery_id.in_(done)))
            s.execute(delete(Delivery).where(Delivery.id.in_(done)))
            s.execute(delete(Silence).where(Silence.until < cutoff))
            s.execute(delete(SeenSet).where(SeenSet.last_seen < cutoff.date()))
            s.execute(delete(RunSlot).where(RunSlot.started_at < cutoff))
        return count


def open_store(url: str, *, auto_upgrade: bool, secrets: Sequence[str] = ()) -> StateStore:
    """A store whose schema is current: SQLite is upgraded on the spot when
    ``auto_upgrade``; any other database must be upgraded with ``cbsalert db upgrade``.

    Without ``auto_upgrade`` (a dry run), a SQLite file that does not exist yet is not
    created: the store reads an empty state kept in memory.
    """
    store = StateStore(url, secrets=secrets)
    if not auto_upgrade and _missing_sqlite_file(store):
        store.close()
        log.info("state database %s does not exist yet: reading an empty state", db.safe_url(url))
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


def _missing_sqlite_file(store: StateStore) -> bool:
    """Whether opening would create a new, empty SQLite file (which a dry run must not)."""
    if store.engine.dialect.name != "sqlite":
        return False
    path = store.engine.url.database or ""
    return path not in ("", ":memory:") and not path.startswith("file:") and not Path(path).exists()


_SNAPSHOT_COLUMNS = (
    "key", "rule", "kind", "severity", "login", "state", "since", "since_day", "last_day",
    "last_fired_day", "owner", "backup_set_id", "backup_set_name", "destination_id",
    "last_notified_at", "resolved_at", "summary",
)  # fmt: skip


_SNAPSHOT_SELECT = select(Alert.id, *(getattr(Alert, name) for name in _SNAPSHOT_COLUMNS))


def _columns(snap: AlertSnapshot) -> dict[str, Any]:
    return {name: getattr(snap, name) for name in _SNAPSHOT_COLUMNS}


def _silence(row: Silence) -> ActiveSilence:
    return ActiveSilence(
        row.id, row.rule, row.login, row.backup_set, row.until, row.reason, row.created_by
    )


def _alert_dict(row: Alert, failures: list[tuple[str | None, bool]]) -> dict[str, Any]:
    return {
        "key": row.key, "rule": row.rule, "kind": row.kind, "severity": row.severity,
        "login": row.login, "owner": row.owner, "backup_set_id": row.backup_set_id,
        "backup_set_name": row.backup_set_name, "destination_id": row.destination_id,
        "state": row.state, "since": _iso(row.since), "last_seen": _iso(row.last_day),
        "last_notified_at": _iso(row.last_notified_at), "resolved_at": _iso(row.resolved_at),
        "summary": row.summary, "failed_deliveries": len(failures),
        "last_delivery_error": failures[-1][0] if failures else None,
        "permanent_failures": sum(1 for _, permanent in failures if permanent),
    }  # fmt: skip


def _redact_strings(value: Any, secrets: Sequence[str]) -> Any:
    """The context with every string redacted (the caller should have left no secret)."""
    if isinstance(value, str):
        return redact(value, list(secrets))
    if isinstance(value, Mapping):
        return {k: _redact_strings(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v, secrets) for v in value]
    return value
