"""The streaming evaluator: what it keeps of each user's findings, and in what order."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cbsalert import evaluate as evaluate_module
from cbsalert.config import Config
from cbsalert.evaluate import Evaluator, sets_seen
from cbsalert.rules import evaluate
from tests.conftest import config_dict
from tests.test_rules import NOW, job, snap

RULES = [
    {"id": "failed", "kind": "backup_status"},
    {"id": "errors", "kind": "error_count"},
    {"id": "missing", "kind": "missing_backup", "modes": ["S"]},
]


def make_config(logins: list[str], **watch_extra: object) -> Config:
    raw = config_dict("http://127.0.0.1:1", Path("/nonexistent"))
    raw["watch"] = [{"login": login, **watch_extra} for login in logins]
    raw["rules"] = RULES
    return Config.model_validate(raw)


class StoredKeys:
    """The state store's ``stored_keys`` as plain data, remembering what it was asked."""

    def __init__(self, stored: set[str]) -> None:
        self.stored = stored
        self.asked: list[set[str]] = []

    def __call__(self, keys: Collection[str]) -> set[str]:
        self.asked.append(set(keys))
        return self.stored & set(keys)


def test_it_keeps_firing_findings_and_clear_ones_only_for_stored_alerts() -> None:
    config = make_config(["obm"])
    day = snap([job("100", status="BS_STOP_SUCCESS"), job("200", status="BS_STOP_BY_SYSTEM_ERROR")])
    everything = evaluate(day, config.rules, NOW)
    clear_keys = sorted(f.key for f in everything if not f.firing)
    stored = StoredKeys({clear_keys[0], "failed|someone-else||"})
    evaluator = Evaluator(config, NOW, stored)

    evaluator.add(day)
    kept = evaluator.finish()

    assert {f.key for f in kept} == {f.key for f in everything if f.firing} | {clear_keys[0]}
    assert all(f.firing for f in kept if f.key != clear_keys[0])
    assert stored.asked == [set(clear_keys)]  # one lookup, for the clear findings only


def test_clear_findings_are_sifted_in_chunks_and_the_order_is_the_watch_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evaluate_module, "SIFT_EVERY", 4)
    logins = [f"u{i}" for i in range(6)]
    config = make_config(logins)
    stored = StoredKeys({f"failed|{login}|100|" for login in logins})
    evaluator = Evaluator(config, NOW, stored)

    for login in reversed(logins):  # users finish in any order
        evaluator.add(snap([job("100"), job("200", errors=3)], login=login))
    kept = evaluator.finish()

    assert len(stored.asked) > 1 and all(stored.asked)
    assert [f.login for f in kept] == sorted(f.login for f in kept)
    by_login = {login: {(f.rule, f.backup_set_id, f.firing) for f in kept if f.login == login}
                for login in logins}  # fmt: skip
    for login in logins:
        assert by_login[login] == {("failed", "100", False), ("errors", "200", True)}


def test_a_watch_entry_s_own_rules_are_the_only_ones_evaluated() -> None:
    config = make_config(["obm"], rules=["missing"])
    evaluator = Evaluator(config, NOW, StoredKeys(set()))

    evaluator.add(snap([job("100", status="BS_STOP_BY_SYSTEM_ERROR")]))

    assert [(f.rule, f.backup_set_id) for f in evaluator.finish()] == [("missing", "200")]


def test_sets_seen_joins_the_server_s_sets_with_the_jobs_that_ran() -> None:
    config = make_config(["obm"])
    evaluator = Evaluator(config, datetime.now(UTC), StoredKeys(set()))
    day = snap([job("300")], expected={"100": "Documents"})

    evaluator.add(day)

    assert sets_seen(day) == {"100": "Documents", "300": ""}
    assert evaluator.sets_seen == {"obm": {"100": "Documents", "300": ""}}
