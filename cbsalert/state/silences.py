"""Silences: people muting matching alerts until a time. The alerts are still tracked;
``reconcile`` decides what a silence mutes (``ActiveSilence.matches``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from cbsalert.errors import StateError, UsageError
from cbsalert.state.storage import Storage, iso, rowcount
from cbsalert.state.tables import Silence
from cbsalert.stored import ActiveSilence


class SilenceNotFoundError(UsageError):
    """``remove`` was given an id that is not stored: the person's mistake (exit 2), not the
    database's."""


class Silences:
    """The ``silences`` table."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def add(
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
            created_by=created_by, created_at=now or self._storage.now(),
        )  # fmt: skip
        with self._storage.write() as s:
            s.add(row)
            s.flush()
            return row.id

    def active(self, now: datetime) -> list[ActiveSilence]:
        """The silences not expired at ``now``, the longest lasting first."""
        query = select(Silence).where(Silence.until > now).order_by(Silence.until.desc())
        with self._storage.read() as s:
            return [_active(row) for row in s.scalars(query)]

    def listing(
        self, include_expired: bool = False, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Silences for people to read, ending soonest first."""
        now = now or self._storage.now()
        query = select(Silence).order_by(Silence.until, Silence.id)
        if not include_expired:
            query = query.where(Silence.until > now)
        with self._storage.read() as s:
            return [
                {**asdict(_active(row)), "until": iso(row.until),
                 "created_at": iso(row.created_at), "active": row.until > now}
                for row in s.scalars(query)
            ]  # fmt: skip

    def remove(self, silence_id: int) -> None:
        with self._storage.write() as s:
            result = s.execute(delete(Silence).where(Silence.id == silence_id))
            if rowcount(result) != 1:
                raise SilenceNotFoundError(
                    f"no silence with id {silence_id} (see `cbsalert silences`)"
                )

    def prune(self, cutoff: datetime) -> None:
        """Forget silences that ended before ``cutoff``."""
        with self._storage.write() as s:
            s.execute(delete(Silence).where(Silence.until < cutoff))


def _active(row: Silence) -> ActiveSilence:
    return ActiveSilence(
        row.id, row.rule, row.login, row.backup_set, row.until, row.reason, row.created_by
    )
