"""What checks write into job history, and what the rules that read it get (issue 18.1):
several days in a row on the simulator, the clock injected, a real state database.

The world of tests/test_catch_up_days.py: obm backs up Docs (set 1, destination 11) and Mail
(set 2, destination 21) every night at 22:00.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from pydantic import PrivateAttr
from sqlalchemy import Engine, event

from cbsalert.config import Config, parse_config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.errors import EXIT_PARTIAL, ConfigError
from cbsalert.jobhistory import HistoryJob, SetKey
from cbsalert.model import Finding, UserSnapshot
from cbsalert.rules import BackupStatusRule, RuleBase
from cbsalert.state import StateStore, open_store
from tests import test_carryover as carry
from tests.hostile import HostileCbs
from tests.state_helpers import db_url as db_url  # the SQLite + PostgreSQL fixture
from tests.test_catch_up_days import day, make_config, refused, run, user, world

DOCS, MAIL = ("1", "11"), ("2", "21")


class HistoryProbe(RuleBase):
    """A rule kind for these tests only: reads ``days`` of history, remembers what it got."""

    kind: Literal["history_probe"] = "history_probe"
    hint: ClassVar[str] = "test only"
    days: int = 2
    _seen: list[tuple[str, date, dict[SetKey, list[HistoryJob]]]] = PrivateAttr(
        default_factory=list
    )

    def history_days(self) -> int:
        return self.days

    def evaluate(self, snap: UserSnapshot, now: Any) -> list[Finding]:
        self._seen.append((snap.login, snap.day, snap.history))
        return []

    def seen(self, n: int) -> dict[SetKey, list[tuple[date, str]]]:
        """(day, outcome) of each row of the history obm's snapshot of day n got."""
        [past] = [history for login, d, history in self._seen if d == day(n)]
        return {key: [(j.day, j.outcome) for j in jobs] for key, jobs in past.items()}


def with_probe(config: Config, days: int = 2) -> tuple[Config, HistoryProbe]:
    probe = HistoryProbe(id="probe", days=days)
    return config.model_copy(update={"rules": [*config.rules, probe]}), probe


def stored(config: Config) -> list[tuple[str, str, str | None, date, str]]:
    """(login, set, destination, day, outcome) of every row kept, by login, set, day."""
    store = open_store(config.state, auto_upgrade=True)
    try:
        rows = store.job_history.between(date(2000, 1, 1), date(2100, 1, 1))
    finally:
        store.close()
    return [(j.login, j.backup_set_id, j.destination_id, j.day, j.outcome) for j in rows]


def test_a_check_writes_each_job_on_each_destination_each_set_not_run_and_each_user_not_checked(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    docs = {"set": "1", "start": f"{day(3)} 22:00:00", "end": f"{day(3)} 22:30:00"}
    alice = {"login": "alice", "backup_sets": [
        {"id": "1", "name": "Docs", "destinations": [{"id": "A"}, {"id": "B"}]},
        {"id": "2", "name": "Mail"}], "jobs": [docs]}  # fmt: skip
    sim = make_sim(world(alice, user("bob")))
    watch = [{"login": "alice", "owner": "Acme"}, {"login": "bob"}]
    config = make_config(sim, slack, tmp_path, watch=watch)
    sim.inject("500", count=2, operation="ListBackupJobMode", login="bob")  # retries too

    assert run(config, 3).exit_code == EXIT_PARTIAL

    assert stored(config) == [
        ("alice", "1", "A", day(3), "ok"), ("alice", "1", "B", day(3), "ok"),
        ("alice", "2", None, day(3), "missed"), ("bob", "", None, day(3), "unchecked"),
    ]  # fmt: skip
    store = open_store(config.state, auto_upgrade=True)
    [docs, *_] = store.job_history.window(["alice"], day(4), 1)["alice"][("1", "A")]
    store.close()
    assert (docs.owner, docs.backup_set_name, docs.mode, docs.status) == (
        "Acme", "Docs", "S", "BS_STOP_SUCCESS")  # fmt: skip
    assert (docs.updated_files, docs.updated_size, docs.dedupe_original_size) == (1, 726, 2384)
    assert docs.duration_s == 1800

    run(config, 3, day=day(3))  # checked again, bob too: replaced, never doubled
    assert stored(config) == [
        ("alice", "1", "A", day(3), "ok"), ("alice", "1", "B", day(3), "ok"),
        ("alice", "2", None, day(3), "missed"),
        ("bob", "1", "11", day(3), "ok"), ("bob", "2", "21", day(3), "ok"),
    ]  # fmt: skip


def test_a_set_that_did_not_run_on_a_day_its_schedule_skips_is_not_due(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    docs_only = {"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"},
                 {"id": "2", "name": "Mail"}], "jobs": user("obm")["jobs"][:14]}  # fmt: skip
    sim = make_sim(world(docs_only))
    mondays = {"id": "weekly", "kind": "missing_backup", "days": ["mon"],
               "applies_to": {"backup_sets": ["Mail"]}}  # fmt: skip
    config = make_config(sim, slack, tmp_path, rules=[{"id": "failed", "kind": "backup_status"},
                                                      mondays])  # fmt: skip
    assert day(3).weekday() == 3 and day(7).weekday() == 0
    run(config, 3, day=day(3))
    run(config, 7, day=day(7))
    assert [row for row in stored(config) if row[1] == "2"] == [
        ("obm", "2", None, day(3), "not_due"), ("obm", "2", None, day(7), "missed"),
    ]  # fmt: skip


def test_a_dry_run_writes_no_history_and_history_days_0_keeps_none(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm")))
    config = make_config(sim, slack, tmp_path)
    run(config, 0)
    run(config, 1, dry_run=True)
    assert {row[3] for row in stored(config)} == {day(0)}

    run(config.model_copy(update={"history_days": 0}), 1)
    assert stored(config) == []  # nothing written, and what there was pruned


def test_days_caught_up_are_written_each_with_its_own_day(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", docs=(1,), mail=(2, 3))))
    config = make_config(sim, slack, tmp_path)
    run(config, 0)
    run(refused(config), 1)  # the CBS cannot be used: obm is not checked that day
    assert ("obm", "", None, day(1), "unchecked") in stored(config)

    run(config, 3)  # days 1, 2 and 3

    assert [row for row in stored(config) if row[3] != day(0)] == [
        ("obm", "1", "11", day(1), "failed"), ("obm", "1", "11", day(2), "ok"),
        ("obm", "1", "11", day(3), "ok"), ("obm", "2", "21", day(1), "ok"),
        ("obm", "2", "21", day(2), "failed"), ("obm", "2", "21", day(3), "failed"),
    ]  # fmt: skip


def test_a_job_running_at_its_check_gets_its_verdict_when_a_later_check_judges_it(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path, db_url: str
) -> None:
    sim = make_sim(carry.world(carry.job(0)))
    config = carry.make_config(sim, slack, tmp_path, state=db_url)
    carry.morning(config, 0)
    assert stored(config) == [("obm", "1", "11", carry.day(0), "running")]

    carry.change(sim, carry.world(carry.job(0, end=f"{carry.day(1)} 08:00:00")))
    carry.morning(config, 1)

    assert stored(config) == [
        ("obm", "1", None, carry.day(1), "missed"), ("obm", "1", "11", carry.day(0), "failed"),
    ]  # fmt: skip
    store = StateStore(config.state)
    [judged] = store.job_history.window(["obm"], carry.day(1), 1)["obm"][("1", "11")]
    store.close()
    assert (judged.status, judged.duration_s) == (carry.FAIL, 11 * 3600)


def test_a_rule_that_reads_history_gets_the_days_before_its_day_only(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm", docs=(2,))))
    config, probe = with_probe(make_config(sim, slack, tmp_path), days=2)
    for n in range(4):
        run(config, n)

    assert probe.seen(0) == {}
    assert probe.seen(1) == {DOCS: [(day(0), "ok")], MAIL: [(day(0), "ok")]}
    assert probe.seen(3) == {DOCS: [(day(1), "ok"), (day(2), "failed")],
                             MAIL: [(day(1), "ok"), (day(2), "ok")]}  # fmt: skip
    probe._seen.clear()
    run(config, 3, day=day(3))  # day 3 is stored now, and still not its own past
    assert probe.seen(3)[DOCS] == [(day(1), "ok"), (day(2), "failed")]


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs while the test does."""
    seen: list[str] = []

    def listen(*args: Any) -> None:
        seen.append(args[2])

    event.listen(Engine, "before_cursor_execute", listen)
    yield seen
    event.remove(Engine, "before_cursor_execute", listen)


def test_with_no_rule_reading_history_a_check_reads_none(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path, statements: list[str]
) -> None:
    sim = make_sim(world(user("obm")))
    config, probe = with_probe(make_config(sim, slack, tmp_path), days=0)
    run(config, 0)
    statements.clear()
    run(config, 1)
    assert probe.seen(1) == {}
    assert not [s for s in statements if s.startswith("SELECT") and "job_history" in s]
    assert [s for s in statements if s.startswith("INSERT INTO job_history")]


def test_history_is_kept_history_days(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(user("obm")))
    config = make_config(sim, slack, tmp_path, history_days=3)
    for n in (0, 1, 2, 3, 4):
        run(config, n)
    # The morning after day 4 (on the date of day 5) keeps the days from 3 days before.
    assert sorted({row[3] for row in stored(config)}) == [day(2), day(3), day(4)]


def test_a_rule_reading_more_history_than_is_kept_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(BackupStatusRule, "history_days", lambda self: 30)
    text = (
        "cbs: {url: 'http://127.0.0.1:1', sys_user: s, sys_password: p}\n"
        "history_days: 14\n"
        "watch: [{login: obm}]\n"
        "rules:\n"
        "  - id: backup-failed\n"
        "    kind: backup_status\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cbsalert.yaml")
    assert (
        "cbsalert.yaml:6: rules[0].kind: rule 'backup-failed' reads 30 days of job history, but "
        "history_days is 14: raise history_days to at least 30" in caught.value.user_message
    )


def test_names_and_ids_the_cbs_sends_are_stored_in_history_on_any_backend(
    hostile: Callable[..., HostileCbs], slack: SlackSink, tmp_path: Path, db_url: str
) -> None:
    name = "Docs\x00\x1b[2J\u202e<b>" + "N" * 900 + "\ud800"
    long_id = "1687505199600" * 30
    hostile_user = {"login": "obm", "backup_sets": [
        {"id": long_id, "name": name, "destinations": [{"id": "\x00d" + "7" * 400}]},
        {"id": "|x|\x00", "name": name}],
        "jobs": [{"set": long_id, "start": f"{day(3)} 22:00:00", "end": f"{day(3)} 22:30:00",
                  "status": "BS\x00\n[/]" + "X" * 900}]}  # fmt: skip
    sim = hostile(world(hostile_user))
    config = carry.make_config(sim, slack, tmp_path, state=db_url)

    assert run(config, 3).exit_code == 0

    store = StateStore(config.state)
    rows = store.job_history.between(day(3), day(3))
    store.close()
    assert sorted(r.outcome for r in rows) == ["failed", "missed"]
    for row in rows:
        for value in (
            row.backup_set_id,
            row.destination_id or "",
            row.job_id or "",
            row.status or "",
        ):
            assert len(value) <= 500 and "\x00" not in value and "\ud800" not in value
        name = row.backup_set_name or ""
        assert len(name) <= 500 and "\x1b" not in name
