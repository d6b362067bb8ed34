"""What every rule kind offers the rest of cbsalert, one row per kind: the status ladder,
auto-resolve, the hint, the samples; and that a new kind is one class and one row."""

from __future__ import annotations

import pytest

from tests.test_rules import NOW, job, restore, rule, snap

# -- the status ladder, shared by the kinds that judge a status -------------------------------

LADDER = [
    # (kind, an ok status, a warning status, a status it does not know)
    ("backup_status", "BS_STOP_SUCCESS", "BS_STOP_SUCCESS_WITH_WARNING", "BS_STOP_BY_X"),
    ("restore_status", "RESTORE_STOP_SUCCESS", "RESTORE_STOP_SUCCESS_WITH_WARNING", "R_X"),
]


def _judge(kind: str, status: str, **fields: object) -> list[tuple[bool, str, str]]:
    record = {"restores": [restore(status=status)]} if kind == "restore_status" else {}
    jobs = [] if kind == "restore_status" else [job(status=status)]
    found = rule(kind=kind, severity="critical", **fields).evaluate(snap(jobs, **record), NOW)
    return [(f.firing, f.severity, f.summary) for f in found]


@pytest.mark.parametrize(("kind", "ok", "warning", "unknown"), LADDER)
def test_every_status_kind_climbs_the_same_ladder(
    kind: str, ok: str, warning: str, unknown: str
) -> None:
    what = "Restore from" if kind == "restore_status" else "Backup of"
    assert _judge(kind, ok) == [(False, "critical", f"{what} 'Documents' succeeded.")]
    assert _judge(kind, warning) == [(True, "warning", f"{what} 'Documents' ended with {warning}.")]
    assert _judge(kind, unknown) == [
        (True, "critical", f"{what} 'Documents' failed with {unknown}.")
    ]


def test_a_finished_restore_with_an_empty_status_says_so() -> None:
    # "" is a running status by default; a rule that does not say so judges it, and its
    # summary names the empty status instead of ending in "failed with ."
    assert _judge("restore_status", "", running_statuses=["RESTORE_STILL_RUNNING"]) == [
        (True, "critical", "Restore from 'Documents' failed with an empty status.")
    ]
