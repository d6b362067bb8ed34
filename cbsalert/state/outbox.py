"""The outbox: messages owed, claimed, sent or failed.

A run's alert changes and the deliveries they imply are written in one transaction
(``StateStore.reconcile``), *then* each delivery is claimed, sent and marked here. A run
killed between a send and its mark sends that one message again next time; nothing owed
is ever lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from cbsalert.errors import StateError, redact
from cbsalert.model import AlertEvent
from cbsalert.notify import MessageContext
from cbsalert.state.runlock import LOCK_NAME
from cbsalert.state.storage import NO_SYNC, Storage, rowcount
from cbsalert.state.tables import Delivery, DeliveryAlert
from cbsalert.state.tables import RunLockRow as RunLock

# A permanent failure (a revoked token, a deleted webhook) is not retried on every run, so a
# service checking every few minutes does not hammer a provider that refuses it; a daily
# check retries it on its next run, which delivers it once someone has fixed the config.
PERMANENT_RETRY_AFTER = timedelta(hours=20)
DeliveryPlan = tuple[str, MessageContext, Sequence[str]]  # notifier name, context, alert keys
PlanDeliveries = Callable[[list[AlertEvent]], Iterable[DeliveryPlan]]


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


class Outbox(Storage):
    """The delivery queue of ``StateStore``."""

    def enqueue(self, deliveries: Iterable[DeliveryPlan], *, now: datetime) -> list[int]:
        """Pending deliveries on their own (test messages, meta alerts)."""
        with self._write() as s:
            return self._insert_deliveries(s, deliveries, now)

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

    def mark_failed(self, delivery_id: int, error: str, *, permanent: bool, now: datetime) -> None:
        """Record a failed attempt; a permanent failure is never claimed again."""
        text = self._redact(error)[:4000]
        self._mark(
            delivery_id, status="failed", permanent=permanent, last_error=text, claim_token=None
        )

    def _mark(self, delivery_id: int, **values: Any) -> None:
        with self._write() as s:
            result = s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
            if rowcount(result) != 1:
                raise StateError(f"no delivery with id {delivery_id} in the state database")


def _redact_strings(value: Any, secrets: Sequence[str]) -> Any:
    """The context with every string redacted (the caller should have left no secret)."""
    if isinstance(value, str):
        return redact(value, list(secrets))
    if isinstance(value, Mapping):
        return {k: _redact_strings(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v, secrets) for v in value]
    return value
