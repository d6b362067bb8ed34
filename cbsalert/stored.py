"""Stored alerts, silences and transitions as plain data: what ``reconcile`` decides on and
``StateStore`` reads and writes. Frozen dataclasses, no database and no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from cbsalert.model import Severity
from cbsalert.scope import matches, names_any

StoredState = Literal["firing", "resolved"]
TransitionState = Literal["firing", "resolved", "repeat", "escalated", "deescalated"]


@dataclass(frozen=True)
class AlertSnapshot:
    """A stored alert as plain data. ``id`` is None for one that is not stored yet."""

    key: str
    rule: str
    kind: str
    severity: Severity
    login: str
    state: StoredState
    since: datetime  # when the current (or last) firing episode started
    since_day: date  # the day of the evidence that started it
    last_day: date  # the day of the latest evidence, firing or clear
    last_fired_day: date  # the day of the latest firing evidence
    owner: str = ""
    backup_set_id: str | None = None
    backup_set_name: str | None = None
    destination_id: str | None = None
    last_notified_at: datetime | None = None
    notified_severity: Severity | None = None  # the severity of the last message sent
    resolved_at: datetime | None = None
    summary: str = ""
    id: int | None = None

    @property
    def notified_this_episode(self) -> bool:
        """Whether people heard that this episode started (it may have begun silenced)."""
        return self.last_notified_at is not None and self.last_notified_at >= self.since


def days_failing(since_day: date, last_fired_day: date) -> int:
    """An episode's length in backup days: from its first failing day to its latest one,
    both counted (what messages and ``cbsalert alerts`` call "3 days")."""
    return (last_fired_day - since_day).days + 1


@dataclass(frozen=True)
class ActiveSilence:
    """A silence as plain data; its rule, login and set are patterns (``cbsalert.scope``:
    exact text, or a shell-style glob; a set by its id or its name)."""

    id: int
    rule: str
    login: str
    backup_set: str | None
    until: datetime
    reason: str = ""
    created_by: str = ""

    def matches(
        self, rule: str, login: str, set_id: str | None, set_name: str | None, now: datetime
    ) -> bool:
        if now >= self.until:
            return False
        if not (matches(self.rule, rule) and matches(self.login, login)):
            return False
        return self.backup_set is None or names_any([self.backup_set], set_id, set_name)


@dataclass(frozen=True)
class TransitionRecord:
    at: datetime
    day: date
    from_state: StoredState | None
    to_state: TransitionState  # escalated/deescalated: the severity changed while firing
    summary: str


@dataclass(frozen=True)
class AlertChange:
    """The new state of one stored alert, and the transitions that led there."""

    after: AlertSnapshot
    transitions: tuple[TransitionRecord, ...] = ()
