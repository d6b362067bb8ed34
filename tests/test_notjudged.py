"""What the history rules could not judge reaches ``check --format json`` as
``not_judged``: per rule, counted by reason, the first sets listed; never in a message."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.devtools.simulator import Simulator
from cbsalert.notjudged import EXAMPLES, NotJudged, NotJudgedTally, Reason
from tests.conftest import config_dict, write_config
from tests.test_check import WORLD

DAY = date(2026, 11, 22)


def item(rule: str, n: int, reason: Reason = "not_enough_history") -> NotJudged:
    return NotJudged(rule, "no_change", f"user{n}", DAY, str(n), None, reason, 2, 7)


def test_a_tally_counts_every_set_by_reason_and_lists_the_first_few() -> None:
    tally, other = NotJudgedTally(), NotJudgedTally()
    for n in range(EXAMPLES + 5):
        tally.add(item("a", n))
    other.add(item("a", 99, "unknown_counts"))
    other.add(item("b", 1))

    tally.merge(other)

    assert len(tally) == EXAMPLES + 7
    [a, b] = tally.to_json()
    assert (a["rule"], a["kind"], a["total"]) == ("a", "no_change", EXAMPLES + 6)
    assert a["reasons"] == {"not_enough_history": EXAMPLES + 5, "unknown_counts": 1}
    assert len(a["sets"]) == EXAMPLES
    assert a["sets"][0] == {
        "login": "user0", "backup_set_id": "0", "backup_set_name": None, "destination_id": None,
        "date": "2026-11-22", "reason": "not_enough_history", "history": 2, "min_history": 7,
    }  # fmt: skip
    assert (b["rule"], b["total"]) == ("b", 1)


def test_check_json_says_which_sets_the_history_rules_could_not_judge_yet(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    world = make_sim(WORLD)
    rules = [
        {"id": "failed", "kind": "backup_status"},
        {"id": "nothing", "kind": "no_change"},
        {"id": "spike", "kind": "change_spike"},
        {"id": "slow", "kind": "duration", "min_history": 3},
    ]
    watch = [{"login": "clean"}, {"login": "failed"}]
    path = write_config(
        tmp_path / "c.yaml", config_dict(world.url, tmp_path, rules=rules, watch=watch)
    )
    run = CliRunner().invoke(
        app, ["check", "-c", str(path), "--date", "2026-11-22", "--dry-run", "--format", "json"]
    )

    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    # A new installation has no history: every set with a finished job is skipped, none is
    # "clear". no_change needs none to see that the simulator's jobs changed a file.
    assert [(r["rule"], r["kind"], r["total"], r["reasons"]) for r in doc["not_judged"]] == [
        ("spike", "change_spike", 3, {"not_enough_history": 3}),
        ("slow", "duration", 3, {"not_enough_history": 3}),
    ]
    slow = doc["not_judged"][1]["sets"]
    assert [(s["login"], s["backup_set_id"], s["history"], s["min_history"]) for s in slow] == [
        ("clean", "11", 0, 3), ("failed", "21", 0, 3), ("failed", "22", 0, 3)
    ]  # fmt: skip
    assert {a["rule"] for a in doc["alerts"]} == {"failed"}  # and nothing in any message
