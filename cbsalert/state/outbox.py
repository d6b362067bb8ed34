"""The outbox: messages owed, claimed, sent or failed.

A run's alert changes and the deliveries they imply are written in one transaction
(``StateStore.reconcile_days`` joins ``enqueue`` to it), *then* each delivery is claimed,
sent and marked here. A run killed between a send and its mark sends that one message again
next time (``requeue_interrupted``); nothing owed is ever lost.

Claiming and requeueing are for the run lock's holder only. The outbox does not know the
lock: it is handed one (``LockHolder``) and asks it to confirm, in the claim's own
transaction, that it is still held.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from cbsalert.errors import StateError
from cbsalert.model import AlertEvent
from cbsalert.notify import MessageContext
from cbsalert.state.storage import NO_SYNC, Storage, rowcount
from cbsalert.state.tables import Delivery, DeliveryAlert

# A permanent failure (a revoked token, a deleted webhook) is not retried on every run, so a
# service checking every few minutes does not hammer a provider that refuses it; a daily
# check retries it on its next run, which delivers it once someone has fixed the config.
PERMANENT_RETRY_AFTER = timedelta(hours=20)
INTERRUPTED = "interrupted: the run sending it stopped before recording the result"
DeliveryPlan = tuple[str, MessageContext, Sequence[str]]  # notifier name, context, alert keys
PlanDeliveries = Callable[[list[AlertEvent]], Iterable[DeliveryPlan]]


class LockHolder(Protocol):
    """The run lock, as its holder has it (``cbsalert.state.runlock.HeldLock``)."""

    @property
    def holder(self) -> str: ...

    def confirm(self, s: Session, doing: str) -> None:
        """Raise ``StateError`` unless the lock is still held, in ``s``'s transaction."""


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
    parts_sent: int = 0  # of a split message, sent by an earlier attempt
    parts_key: str | None = None  # the fingerprint of that attempt's parts

    @property
    def context(self) -> MessageContext:
        context: MessageContext = json.loads(self.context_json)
        return context


class Outbox:
    """The ``deliveries`` table and the alerts each delivery speaks about."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def enqueue(self, deliveries: Iterable[DeliveryPlan], *, now: datetime) -> list[int]:
        """Pending deliveries: one row per planned message, each written as soon as it is
        planned, so only one context (a digest may hold thousands of alerts) is in memory
        at a time. Inside a run's reconcile transaction, part of it."""
        ids: list[int] = []
        with self._storage.write() as s:
            for plan in deliveries:
                ids.append(self._insert(s, plan, now))
        return ids

    def _insert(self, s: Session, plan: DeliveryPlan, now: datetime) -> int:
        notifier, context, keys = plan
        row = Delivery(
            notifier=notifier,
            status="pending",
            context=json.dumps(_redact_strings(context, self._storage.redact), default=str),
            attempts=0,
            permanent=False,
            created_at=now,
        )
        s.add(row)
        s.flush()
        links = [{"delivery_id": row.id, "alert_key": key} for key in dict.fromkeys(keys)]
        if links:
            s.execute(insert(DeliveryAlert), links)
        s.expunge(row)
        return row.id

    def requeue_interrupted(self, lock: LockHolder) -> None:
        """Make owed again whatever an earlier run left "sending": that run is gone (it
        released the lock, or was killed and its lock expired), so whether its message went
        out is unknown, and sending it twice beats never. Only for a new holder of the run
        lock, before it claims anything."""
        with self._storage.write() as s:
            lock.confirm(s, "requeue deliveries")
            s.execute(
                update(Delivery)
                .where(Delivery.status == "sending")
                .values(status="failed", last_error=INTERRUPTED, claim_token=None),
                execution_options=NO_SYNC,
            )

    def claim_owed(
        self, lock: LockHolder, *, max_attempts: int, now: datetime
    ) -> list[OwedDelivery]:
        """Claim the owed deliveries (pending, or failed with attempts left and either
        transient or permanent but last tried ``PERMANENT_RETRY_AFTER`` ago) for the holder
        of ``lock``, which must still hold it: the lock is exclusive, so no two claimers
        ever get the same row. Each claim counts as an attempt.
        """
        holder = lock.holder
        token = uuid.uuid4().hex
        owed = and_(
            Delivery.status.in_(("pending", "failed")),
            or_(
                Delivery.permanent.is_(False),
                Delivery.last_attempt_at <= now - PERMANENT_RETRY_AFTER,
            ),
            Delivery.attempts < max_attempts,
        )
        with self._storage.write() as s:
            lock.confirm(s, "claim deliveries")
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
            columns = (Delivery.id, Delivery.notifier, Delivery.context, Delivery.attempts,
                       Delivery.parts_sent, Delivery.parts_key)  # fmt: skip
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
            OwedDelivery(
                r.id,
                r.notifier,
                r.context,
                r.attempts,
                tuple(keys.get(r.id, [])),
                r.parts_sent,
                r.parts_key,
            )
            for r in rows
        ]

    def mark_parts_sent(self, delivery_id: int, parts: int, key: str) -> None:
        """Record that the first ``parts`` parts of a split message (fingerprint ``key``)
        are out, at once: a retry, or the run after a crash, starts after them."""
        self._mark(delivery_id, parts_sent=parts, parts_key=key)

    def mark_sent(self, delivery_id: int, *, now: datetime) -> None:
        self._mark(delivery_id, status="sent", sent_at=now, claim_token=None)

    def mark_failed(self, delivery_id: int, error: str, *, permanent: bool) -> None:
        """Record a failed attempt; a permanent failure is claimed again only after
        ``PERMANENT_RETRY_AFTER``, counted from the claim (``last_attempt_at``, which
        ``claim_owed`` sets), so the failure itself needs no time."""
        text = self._storage.redact(error)[:4000]
        self._mark(
            delivery_id, status="failed", permanent=permanent, last_error=text, claim_token=None
        )

    def _mark(self, delivery_id: int, **values: Any) -> None:
        with self._storage.write() as s:
            result = s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
            if rowcount(result) != 1:
                raise StateError(f"no delivery with id {delivery_id} in the state database")

    def failures_by_alert(self) -> dict[str, list[tuple[str | None, bool]]]:
        """Per alert key, its failed deliveries (oldest first): the last error, and whether
        it was permanent."""
        failed = (
            select(DeliveryAlert.alert_key, Delivery.last_error, Delivery.permanent)
            .join(Delivery, Delivery.id == DeliveryAlert.delivery_id)
            .where(Delivery.status == "failed")
            .order_by(Delivery.id)
        )
        errors: dict[str, list[tuple[str | None, bool]]] = {}
        with self._storage.read() as s:
            for key, error, permanent in s.execute(failed):
                errors.setdefault(key, []).append((error, permanent))
        return errors

    def prune(self, cutoff: datetime) -> None:
        """Forget deliveries created before ``cutoff`` and finished (sent or failed)."""
        done = select(Delivery.id).where(
            Delivery.created_at < cutoff, Delivery.status.in_(("sent", "failed"))
        )
        with self._storage.write() as s:
            s.execute(delete(DeliveryAlert).where(DeliveryAlert.delivery_id.in_(done)))
            s.execute(delete(Delivery).where(Delivery.id.in_(done)))


def _redact_strings(value: Any, redact: Callable[[str], str]) -> Any:
    """The context with every string redacted (the caller should have left no secret)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: _redact_strings(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v, redact) for v in value]
    return value
