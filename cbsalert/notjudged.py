"""What a rule could not judge, and the run's tally of it (``check --format json``).

The kinds that compare a job with its history stay silent when a set has too little
history (a first week, a destination added later) or when the day's own numbers cannot be
read: no finding, neither firing nor clear, so an alert already firing is left as it is.
That silence must not look like "all is well", so each such rule says what it skipped as
a ``NotJudged``; a run adds them up per rule (``NotJudgedTally``) and ``check --format
json`` prints the tally as ``not_judged``. Messages never mention them: nothing happened
that a person must act on. The tally keeps the first ``EXAMPLES`` sets of each rule and
counts the rest, so a first week over ten thousand users costs a few counters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

# Why a rule could not judge a set: fewer than ``min_history`` earlier jobs (or backup
# days) to compare with; the day's file counts (or sizes) cannot be read; the day's job has
# no known run time.
Reason = Literal["not_enough_history", "unknown_counts", "unknown_duration"]

EXAMPLES = 20  # sets listed per rule; the rest are counted


@dataclass(frozen=True)
class NotJudged:
    """One set and destination a rule said nothing about on ``day``, and why; ``history``
    is how many earlier jobs (or backup days) it had to compare with, ``needed`` its
    ``min_history``."""

    rule: str
    kind: str
    login: str
    day: date
    backup_set_id: str
    destination_id: str | None
    reason: Reason
    history: int
    needed: int
    backup_set_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "backup_set_id": self.backup_set_id,
            "backup_set_name": self.backup_set_name,
            "destination_id": self.destination_id,
            "date": self.day.isoformat(),
            "reason": self.reason,
            "history": self.history,
            "min_history": self.needed,
        }


@dataclass
class _RuleTally:
    kind: str
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[NotJudged] = field(default_factory=list)


class NotJudgedTally:
    """Per rule: how many sets it could not judge, by reason, and the first few of them."""

    def __init__(self) -> None:
        self._rules: dict[str, _RuleTally] = {}

    def __len__(self) -> int:
        return sum(t.reasons.total() for t in self._rules.values())

    def add(self, item: NotJudged) -> None:
        tally = self._rules.setdefault(item.rule, _RuleTally(item.kind))
        tally.reasons[item.reason] += 1
        if len(tally.examples) < EXAMPLES:
            tally.examples.append(item)

    def merge(self, other: NotJudgedTally) -> None:
        """Add another tally (another day of a run that caught up)."""
        for rule, theirs in other._rules.items():
            mine = self._rules.setdefault(rule, _RuleTally(theirs.kind))
            mine.reasons.update(theirs.reasons)
            mine.examples.extend(theirs.examples[: EXAMPLES - len(mine.examples)])

    def to_json(self) -> list[dict[str, Any]]:
        """One entry per rule, in the order they first skipped a set: ``rule``, ``kind``,
        ``total`` (sets skipped, over every day checked), ``reasons`` (count by reason) and
        ``sets`` (the first ``EXAMPLES`` of them)."""
        return [
            {
                "rule": rule,
                "kind": tally.kind,
                "total": tally.reasons.total(),
                "reasons": dict(sorted(tally.reasons.items())),
                "sets": [item.to_dict() for item in tally.examples],
            }
            for rule, tally in self._rules.items()
        ]
