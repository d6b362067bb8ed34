"""Jobs still running at a check are judged at the next one, against their own day
(issue 15.2): several days in a row on the simulator, the clock injected."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cbsalert.carryover import GIVE_UP_DAYS
from cbsalert.config import Config
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.pipeline import RunResult
from cbsalert.state import StateStore, open_store
from tests.conftest import SYS_PASSWORD, config_dict
from tests.state_helpers import db_url as db_url  # the SQLite + PostgreSQL fixture
from tests.test_days import check, day

FAIL, OK = "BS_STOP_BY_SYSTEM_ERROR", "BS_STOP_SUCCESS"
FAILED = {"id": "failed", "kind": "backup_status"}
SLOW = {"id": "slow", "kind": "long_running", "max_hours": 12}
# What a morning check calls for obm with nothing carried over and no job that day.
BASE = {"ListBackupSets": 1, "ListBackupJobMode": 1, "ListRestoreJobStatus": 1}


def job(n: int, start: str = "21:00", end: str | None = None, status: str = FAIL) -> dict[str, Any]:
    """A job of set Docs that started on day n (CBS times are in Europe/Amsterdam)."""
    return {"set": "1", "start": f"{day(n)} {start}:00", "end": end, "status": status}


def world(*jobs: dict[str, Any]) -> dict[str, Any]:
    return {"users": [{"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"}],
                       "jobs": list(jobs)}]}  # fmt: skip


def change(sim: Simulator, data: dict[str, Any]) -> None:
    """The CBS between two checks: jobs end, or disappear."""
    sim.set_data(SimData.model_validate({"system_password": SYS_PASSWORD, "today": "2026-11-23",
                                         **data}))  # fmt: skip


def make_config(
    sim: Simulator, slack: SlackSink, tmp_path: Path, *rules: dict[str, Any], **more: Any
) -> Config:
    raw = config_dict(
        sim.url, tmp_path, rules=[{"notify": ["ops"], **r} for r in rules or (FAILED,)],
        notifiers={"ops": {"type": "slack", "webhook_url": slack.url}}, **more,
    )  # fmt: skip
    config = Config.model_validate(raw)
    if not config.state.startswith("sqlite"):  # `cbsalert db upgrade`, as the README asks
        store = StateStore(config.state)
        store.upgrade()
        store.close()
    return config


def morning(config: Config, n: int, *, dry_run: bool = False) -> RunResult:
    """The daily check of day n, at 07:00 in Amsterdam the next morning."""
    return check(config, day(n), hours_after=6, dry_run=dry_run)


def seen(result: RunResult) -> list[tuple[str, str, date]]:
    return [(e.finding.rule, e.state, e.finding.day) for e in result.reported]


def slack_text(slack: SlackSink) -> str:
    return "\n".join(
        (block.get("text") or {}).get("text", "")
        for message in slack.messages
        for block in message["blocks"]
    )


def carried(config: Config) -> list[tuple[str, date, str]]:
    store = open_store(config.state, auto_upgrade=True)
    try:
        return [(c.login, c.day, c.job_id) for c in store.carried.load()]
    finally:
        store.close()


def test_a_job_running_at_the_check_that_then_fails_is_announced_next_day_against_its_day(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path, db_url: str
) -> None:
    sim = make_sim(world(job(0)))
    config = make_config(sim, slack, tmp_path, state=db_url)
    first = morning(config, 0)
    assert first.reported == [] and slack.messages == []
    assert carried(config) == [("obm", day(0), f"{day(0)}-21-00-00")]

    change(sim, world(job(0, end=f"{day(1)} 08:00:00")))
    second = morning(config, 1)
    assert seen(second) == [("failed", "new", day(0))]
    assert second.exit_code == 0 and len(slack.messages) == 1
    text = slack_text(slack)
    assert f"job of {day(0)}" in text and FAIL in text
    assert second.to_json()["alerts"][0]["date"] == str(day(0))
    assert carried(config) == []

    third = morning(config, 2)
    assert seen(third) == [("failed", "firing", day(0))]
    assert len(slack.messages) == 1


def test_a_job_running_at_the_check_that_then_succeeds_says_nothing_at_a_known_cost(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(job(0)))
    config = make_config(sim, slack, tmp_path)
    morning(config, 0)
    change(sim, world(job(0, end=f"{day(1)} 08:00:00", status=OK)))
    second = morning(config, 1)
    assert second.reported == [] and slack.messages == [] and second.exit_code == 0
    # One ListBackupJobMode of the job's own day, one report per job and destination.
    assert second.calls_by_operation == {
        **BASE, "ListBackupJobMode": 2, "GetBackupJobReportSummary": 1,
    }  # fmt: skip
    assert carried(config) == []
    assert morning(config, 2).calls_by_operation == BASE


def test_a_rerun_still_running_at_the_check_that_succeeds_resolves_the_day_s_failure(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    first_try = job(0, start="01:00", end=f"{day(0)} 01:30:00")
    sim = make_sim(world(first_try, job(0)))
    config = make_config(sim, slack, tmp_path)
    assert seen(morning(config, 0)) == [("failed", "new", day(0))]
    change(sim, world(first_try, job(0, end=f"{day(1)} 08:00:00", status=OK)))
    # The last finished job of a set decides its day, also when it finished after the check.
    assert seen(morning(config, 1)) == [("failed", "resolved", day(0))]
    assert len(slack.messages) == 2


def test_a_job_hanging_past_max_hours_fires_long_running_at_the_next_check(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path, db_url: str
) -> None:
    sim = make_sim(world(job(0, start="22:00")))
    config = make_config(sim, slack, tmp_path, FAILED, SLOW, state=db_url)
    assert morning(config, 0).reported == []  # 9 hours at the check: within the limit
    second = morning(config, 1)
    assert seen(second) == [("slow", "new", day(0))]
    assert "still running after 33.0 h" in second.reported[0].finding.summary
    assert second.calls_by_operation == {
        **BASE, "ListBackupJobMode": 2, "GetBackupJobProgress": 1,
    }  # fmt: skip
    assert seen(morning(config, 2)) == [("slow", "firing", day(0))]
    assert len(slack.messages) == 1

    change(sim, world(job(0, start="22:00", end=f"{day(3)} 03:00:00")))
    fourth = morning(config, 3)
    assert sorted(seen(fourth)) == [("failed", "new", day(0)), ("slow", "resolved", day(0))]
    assert len(slack.messages) == 2 and carried(config) == []


def test_a_carried_job_whose_day_is_older_than_retention_is_dropped_with_a_warning(
    make_sim: Callable[..., Simulator],
    slack: SlackSink,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = make_sim(world(job(0)))
    config = make_config(sim, slack, tmp_path, retention_days=3)
    morning(config, 0)
    change(sim, world(job(0, end=f"{day(1)} 08:00:00")))
    with caplog.at_level(logging.WARNING, logger="cbsalert"):
        late = morning(config, 5)  # cbsalert was down for four days
    assert late.reported == [] and slack.messages == [] and late.exit_code == 0
    assert late.calls_by_operation == BASE  # its day is not read again
    warning = next(r.getMessage() for r in caplog.records if "retention_days" in r.getMessage())
    assert str(day(0)) in warning and "obm" in warning
    assert carried(config) == []


def test_a_carried_job_the_cbs_no_longer_lists_is_an_error_until_given_up(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(job(0)))
    config = make_config(sim, slack, tmp_path)
    morning(config, 0)
    change(sim, world())
    runs = [morning(config, n) for n in range(1, GIVE_UP_DAYS + 2)]
    assert [r.exit_code for r in runs] == [1] * GIVE_UP_DAYS + [0]
    messages = [[e.message for e in r.errors] for r in runs]
    assert all(len(m) == 1 and str(day(0)) in m[0] for m in messages[:-1])
    assert "no longer lists it" in messages[0][0]
    assert "gave up" in messages[GIVE_UP_DAYS - 1][0]
    assert runs[-1].errors == [] and carried(config) == []
    assert slack.messages == []


def test_a_carried_job_that_cannot_be_read_is_kept_and_judged_once_it_can(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(job(0)))
    config = make_config(sim, slack, tmp_path)
    morning(config, 0)
    change(sim, world(job(0, end=f"{day(1)} 08:00:00")))
    sim.inject("500", count=2, operation="GetBackupJobReportSummary")  # both attempts
    second = morning(config, 1)
    assert second.exit_code == 1 and second.reported == []
    [error] = second.errors
    assert error.operation == "GetBackupJobReportSummary" and str(day(0)) in error.message
    assert len(carried(config)) == 1

    third = morning(config, 2)
    assert seen(third) == [("failed", "new", day(0))] and third.exit_code == 0


def test_a_dry_run_judges_carried_jobs_but_writes_nothing(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(job(0)))
    config = make_config(sim, slack, tmp_path)
    preview = morning(config, 0, dry_run=True)
    assert preview.reported == [] and not (tmp_path / "state.db").exists()
    morning(config, 0)
    change(sim, world(job(0, end=f"{day(1)} 08:00:00")))
    before = (tmp_path / "state.db").read_bytes()
    assert seen(morning(config, 1, dry_run=True)) == [("failed", "new", day(0))]
    assert (tmp_path / "state.db").read_bytes() == before and slack.messages == []
    assert seen(morning(config, 1)) == [("failed", "new", day(0))]
    assert len(slack.messages) == 1


def test_a_second_check_of_the_same_day_leaves_its_running_jobs_for_the_next_day(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(world(job(0)))
    config = make_config(sim, slack, tmp_path)
    morning(config, 0)
    again = morning(config, 0)
    assert again.calls_by_operation["ListBackupJobMode"] == 1
    assert carried(config) == [("obm", day(0), f"{day(0)}-21-00-00")]
