"""The kind that notices what did not happen: a backup set with no job on a day one was due."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from cbsalert.cbswords import missing_set_sentence, missing_user_sentence
from cbsalert.labels import set_label
from cbsalert.model import AlertEvent, Finding, UserSnapshot
from cbsalert.rules.base import RuleBase

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MissingBackupRule(RuleBase):
    """An expected set had no job of a wanted mode on a day a run was due.

    Expected sets come from the watch entry, ListBackupSets or the state's history; when
    none is known, a user with no wanted job at all fires as a whole.
    """

    kind: Literal["missing_backup"] = "missing_backup"
    what: ClassVar[str] = "did not run"
    hint: ClassVar[str] = (
        "Check the backup schedule of the set and that the client machine was on and "
        "online at the scheduled time."
    )
    modes: list[str] = Field(default_factory=lambda: ["S"], min_length=1)
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        day = evening.date().isoformat()
        return [
            cls.sample(
                evening, "repeat", "critical",
                missing_set_sentence(["S"], "'Mail archive'", day, ran=False),
                days=3, backup_set_id="1700000000003", backup_set_name="Mail archive",
            ),
            cls.sample(
                evening, "new", "critical", missing_user_sentence(["S"], "example-laptop", day, 0),
                days=1, login="example-laptop",
            ),
        ]  # fmt: skip

    def due(self, login: str, set_id: str | None, set_name: str | None, day: date) -> bool | None:
        """Due on the weekdays in ``days``, for the sets it applies to."""
        if not self.applies(login, set_id, set_name):
            return None
        return WEEKDAYS[day.weekday()] in self.days

    def ran_as_scheduled(self, login: str, set_id: str, set_name: str, day: date,
                         modes: Collection[str]) -> bool | None:  # fmt: skip
        """On a day it is due, a set ran as expected only with a job of ``modes``."""
        if not self.applies(login, set_id, set_name) or not self.due(login, set_id, set_name, day):
            return None
        return any(mode in self.modes for mode in modes)

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        if WEEKDAYS[snap.day.weekday()] not in self.days:
            return []
        wanted = [r for r in snap.jobs if (r.job.mode or "") in self.modes]
        ran = {r.job.backup_set_id for r in wanted}
        day = snap.day.isoformat()
        out = []
        for set_id, name in sorted(snap.expected_sets.items()):
            if not self.applies(snap.login, set_id, name):
                continue
            label = set_label({"backup_set_id": set_id, "backup_set_name": name}, quote=True)
            firing = set_id not in ran
            summary = missing_set_sentence(self.modes, label, day, ran=not firing)
            out.append(
                self.finding(snap, firing, summary, backup_set_id=set_id, backup_set_name=name)
            )
        if self.applies(snap.login) and (wanted or not snap.expected_sets):
            jobs = len({r.job.id for r in wanted})
            summary = missing_user_sentence(self.modes, snap.login, day, jobs)
            out.append(self.finding(snap, not wanted, summary))
        return out
