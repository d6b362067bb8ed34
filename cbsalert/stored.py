"""Stored alerts, silences and transitions as plain data: what ``reconcile`` decides on and
``StateStore`` reads and writes. Frozen dataclasses, no database and no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from typing import Literal

from cbsalert.model import Severity

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


@dataclass(frozen=True)
class ActiveSilence:
    """A silence as plain data; patterns are shell-style globs (exact names match too)."""

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
        if not (fnmatchcase(rule, self.rule) and fnmatchcase(login, self.login)):
            return False
        if self.backup_set is None:
            return True
        return any(v is not None and fnmatchcase(v, self.backup_set) for v in (set_id, set_name))


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
