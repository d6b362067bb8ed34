"""Rule kinds: each a pydantic model (its config) with a pure ``evaluate``, and the tables
that name them.

``RULE_KINDS`` holds the kinds a config's ``rules:`` may use; ``BUILTIN_KINDS`` the
built-in alerts cbsalert raises about itself (``builtin.py``), which no config lists;
``ALL_KINDS`` is both, for whatever looks a kind up by name (``KIND_HINTS``: what to do
about an alert of each kind).

Adding a kind: one class (in the module of its family) with its hooks (``RuleBase``), one
row in ``RULE_KINDS``, one example in ``rules.example.yaml``, one row in ``ROWS`` of
``tests/test_rule_kinds.py`` (and tests of what it evaluates in ``tests/test_rules.py``).
Nothing else names a kind: reconciliation, the templates' hints and the sample alerts of
``cbsalert validate`` and ``test-notify`` ask the kind.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping
from datetime import datetime

from cbsalert.model import Finding, UserSnapshot
from cbsalert.notjudged import NotJudged
from cbsalert.rules.base import AppliesTo, Duration, RuleBase, format_duration, parse_duration
from cbsalert.rules.builtin import (
    META_RULE_ID,
    UNCHECKED_RULE_ID,
    UNRESOLVED_RULE_ID,
    CbsUnreachableRule,
    SelectionUnresolvedRule,
    UserUncheckedRule,
    builtin_rules,
    meta_rule,
    unchecked_rule,
    unresolved_rule,
)
from cbsalert.rules.history import NoChangeRule
from cbsalert.rules.jobs import (
    RUNNING_STATUSES,
    BackupStatusRule,
    ErrorCountRule,
    LongRunningRule,
    WarningCountRule,
)
from cbsalert.rules.restores import RestoreStatusRule
from cbsalert.rules.schedule import WEEKDAYS, MissingBackupRule, Weekday
from cbsalert.rules.unusual import ChangeSpikeRule, DurationRule

__all__ = [
    "ALL_KINDS", "BUILTIN_KINDS", "DEFAULT_HINT", "KIND_HINTS", "META_RULE_ID", "RESOLVED_HINT",
    "RULE_KINDS", "RUNNING_STATUSES", "UNCHECKED_RULE_ID", "UNRESOLVED_RULE_ID", "WEEKDAYS",
    "AppliesTo", "BackupStatusRule", "CbsUnreachableRule", "ChangeSpikeRule", "Duration",
    "DurationRule", "ErrorCountRule", "LongRunningRule", "MissingBackupRule", "NoChangeRule",
    "NotJudged", "RestoreStatusRule", "RuleBase", "SelectionUnresolvedRule",
    "UserUncheckedRule", "WarningCountRule", "Weekday", "about_server", "assess",
    "builtin_rules", "evaluate", "format_duration", "hint", "meta_rule", "parse_duration",
    "unchecked_rule", "unresolved_rule", "what_happened",
]  # fmt: skip

RULE_KINDS: dict[str, type[RuleBase]] = {
    "backup_status": BackupStatusRule,
    "error_count": ErrorCountRule,
    "warning_count": WarningCountRule,
    "missing_backup": MissingBackupRule,
    "restore_status": RestoreStatusRule,
    "long_running": LongRunningRule,
    "no_change": NoChangeRule,
    "change_spike": ChangeSpikeRule,
    "duration": DurationRule,
}

BUILTIN_KINDS: dict[str, type[RuleBase]] = {
    "cbs_unreachable": CbsUnreachableRule,
    "user_unchecked": UserUncheckedRule,
    "selection_unresolved": SelectionUnresolvedRule,
}

# A view, not a copy: a kind added to either table is found at once.
ALL_KINDS: ChainMap[str, type[RuleBase]] = ChainMap(RULE_KINDS, BUILTIN_KINDS)

# For an alert of a kind this version does not know (stored by another version of cbsalert).
DEFAULT_HINT = "Look at the user's recent jobs in AhsayCBS."


class _Hints(Mapping[str, str]):
    """Kind -> what to do, read from the kinds themselves (``RuleBase.hint``)."""

    def __getitem__(self, kind: str) -> str:
        return ALL_KINDS[kind].hint

    def __iter__(self) -> Iterator[str]:
        return iter(ALL_KINDS)

    def __len__(self) -> int:
        return len(ALL_KINDS)


KIND_HINTS: Mapping[str, str] = _Hints()


def what_happened(kind: str) -> str:
    """What an alert of ``kind`` says happened (``RuleBase.what``), for a message's summary
    counts; the kind itself when this version does not know it."""
    rule = ALL_KINDS.get(kind)
    return rule.what if rule is not None else kind.replace("_", " ")


RESOLVED_HINT = "Nothing to do: this is fixed."


def hint(alert: Mapping[str, object]) -> str:
    """What to do about an alert (a message's context row): its kind's hint for it
    (``RuleBase.hint_for``: a status such as a full quota has its own), or none once it is
    resolved; the templates' ``hint`` filter."""
    if alert.get("state") == "resolved":
        return RESOLVED_HINT
    kind = ALL_KINDS.get(str(alert.get("kind")))
    return kind.hint_for(alert) if kind is not None else DEFAULT_HINT


def about_server(alert: Mapping[str, object]) -> bool:
    """Whether an alert (a message's context row) is about the CBS itself, not a user: its
    kind says so (``RuleBase.about_server``); an unknown kind is about a user."""
    kind = ALL_KINDS.get(str(alert.get("kind")))
    return kind is not None and kind.about_server


def evaluate(snap: UserSnapshot, rules: list[RuleBase], now: datetime) -> list[Finding]:
    """Every rule's findings about one user's day."""
    return assess(snap, rules, now)[0]


def assess(
    snap: UserSnapshot, rules: list[RuleBase], now: datetime
) -> tuple[list[Finding], list[NotJudged]]:
    """Every rule's findings about one user's day, and what they could not judge
    (``RuleBase.assess``)."""
    findings: list[Finding] = []
    skipped: list[NotJudged] = []
    for rule in rules:
        found, missed = rule.assess(snap, now)
        findings.extend(found)
        skipped.extend(missed)
    return findings, skipped
