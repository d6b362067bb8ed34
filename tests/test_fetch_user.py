"""One user's fetch against a simulated CBS that sends hostile answers: jobs of other days, times
out of range, unreadable counts, floods of jobs, hostile names and ids, and a watch entry
naming a set the user does not have. Each affects its own records or its own user, never the
run (issues 14.1, 14.2, 14.5, 14.6, 14.8 and 13.5)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from cbsalert.config import CbsConfig, Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.pipeline import RunResult, run_once
from cbsalert.state import StateStore
from tests.conftest import config_dict
from tests.state_helpers import db_url  # noqa: F401 - the fixture, parametrised over both backends
from tests.test_check import firing

DAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
Sim = Callable[..., Simulator]

FAILED = "BS_STOP_BY_SYSTEM_ERROR"
MISSING = {"id": "missing", "kind": "missing_backup"}
BACKUP_FAILED = {"id": "failed", "kind": "backup_status"}


def user(login: str, *jobs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"login": login, "backup_sets": [{"id": "1", "name": "Docs"}], "jobs": list(jobs),
            **fields}  # fmt: skip


def job(start: str, end: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"set": "1", "start": start, "end": end or start, **fields}


def config(sim: Simulator, tmp_path: Any, *rules: dict[str, Any], **overrides: Any) -> Config:
    watch = [{"login": u.login} for u in sim.data.users]
    raw = config_dict(sim.url, tmp_path, **{"watch": watch, "rules": list(rules), **overrides})
    return Config.model_validate(raw)


def check(cfg: Config, *, dry_run: bool = True) -> RunResult:
    return asyncio.run(run_once(cfg, day=DAY, dry_run=dry_run, now=NOW))


# -- 14.6: records of another day -------------------------------------------------------------


def test_a_job_of_another_day_never_silences_the_missing_backup_rule(
    make_sim: Sim, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stray = job("2026-11-10 22:00:00", listed_on="2026-11-22")
    sim = make_sim({"users": [user("obm", stray)]})

    with caplog.at_level(logging.WARNING, logger="cbsalert"):
        result = check(config(sim, tmp_path, MISSING, BACKUP_FAILED))

    assert firing(result) == {("missing", "obm", "1")}
    assert sim.count("GetBackupJobReportSummary") == 0
    assert "obm: ignoring 1 backup job(s) that did not start on 2026-11-22" in caplog.text
    assert "2026-11-10 22:00:00" in caplog.text


def test_a_restore_of_another_day_is_ignored(make_sim: Sim, tmp_path: Any) -> None:
    restore = {"set": "1", "start": "2026-11-09 10:00:00", "end": "2026-11-09 10:05:00",
               "status": "RESTORE_STOP_BY_ERROR", "listed_on": "2026-11-22"}  # fmt: skip
    sim = make_sim({"users": [user("obm", job("2026-11-22 22:00:00"), restores=[restore])]})

    result = check(config(sim, tmp_path, {"id": "restore", "kind": "restore_status"}))

    assert firing(result) == set()


def test_a_job_started_before_midnight_is_not_evidence_for_the_next_day(
    make_sim: Sim, tmp_path: Any
) -> None:
    late = job("2026-11-21 23:50:00", "2026-11-22 00:40:00", listed_on="2026-11-22")
    sim = make_sim({"users": [user("obm", late)]})

    assert firing(check(config(sim, tmp_path, MISSING))) == {("missing", "obm", "1")}


# -- 14.2: a time out of range ----------------------------------------------------------------


def test_a_start_time_out_of_range_affects_only_its_own_record(
    make_sim: Sim, tmp_path: Any
) -> None:
    odd = job("0001-01-01 00:30:00", listed_on="2026-11-22", status=FAILED)
    sim = make_sim(
        {"timezone": "Asia/Tokyo",
         "users": [user("odd", odd), user("bob", job("2026-11-22 20:00:00", status=FAILED))]}
    )  # fmt: skip
    cfg = config(sim, tmp_path, BACKUP_FAILED, MISSING, timezone="UTC",
                 cbs={"timezone": "Asia/Tokyo"})  # fmt: skip

    result = check(cfg)

    assert result.errors == [] and result.fatal is None
    assert firing(result) == {("failed", "bob", "1"), ("missing", "odd", "1")}


def test_an_end_time_out_of_range_is_unknown_and_the_job_still_judged(
    make_sim: Sim, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    far = job("2026-11-22 20:00:00", "9999-12-31 23:59:59", status=FAILED)
    sim = make_sim({"users": [user("obm", far)]})
    cfg = config(sim, tmp_path, BACKUP_FAILED, {"id": "stuck", "kind": "long_running",
                 "max_hours": 1}, timezone="Asia/Tokyo", cbs={"timezone": "UTC"})  # fmt: skip

    with caplog.at_level(logging.WARNING, logger="cbsalert"):
        result = check(cfg)

    [alert] = [e.finding for e in result.reported]
    assert alert.firing and alert.end_time is None and alert.start_time is not None
    [warning] = [r.getMessage() for r in caplog.records if "9999-12-31 23:59:59" in r.getMessage()]
    assert warning.startswith("obm: ignoring the CBS time 9999-12-31 23:59:59")


# -- 14.5: counts that cannot be read ---------------------------------------------------------


@pytest.mark.parametrize("errors", [math.inf, math.nan, "1e400", "0x10"])
def test_an_unreadable_error_count_from_the_cbs_fires_error_count(
    make_sim: Sim, tmp_path: Any, errors: Any
) -> None:
    sim = make_sim({"users": [user("obm", job("2026-11-22 20:00:00", errors=errors))]})

    result = check(config(sim, tmp_path, {"id": "errors", "kind": "error_count"}))

    [alert] = [e.to_dict() for e in result.reported]
    assert alert["errors"] == "unknown"
    assert "error count cannot be read" in alert["summary"]


# -- 14.8: a flood of jobs --------------------------------------------------------------------


def test_only_the_newest_jobs_of_a_set_are_looked_at(
    make_sim: Sim, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = [job(f"2026-11-22 {h:02d}:{m:02d}:00") for h in range(10) for m in (0, 20, 40)]
    jobs[-1]["status"] = FAILED  # the newest decides the day
    sim = make_sim({"users": [user("obm", *jobs)]})
    cfg = config(sim, tmp_path, BACKUP_FAILED, cbs={"max_jobs_per_set": 4})

    with caplog.at_level(logging.WARNING, logger="cbsalert"):
        result = check(cfg)

    asked = sorted(
        c.params["BackupJobID"] for c in sim.calls if c.operation == "GetBackupJobReportSummary"
    )
    assert asked == ["2026-11-22-08-40-00"] + [f"2026-11-22-09-{m}-00" for m in ("00", "20", "40")]
    assert result.api_calls == 3 + 1 + 4
    assert firing(result) == {("failed", "obm", "1")}
    assert "obm: set 1 has 30 jobs on 2026-11-22; only the newest 4 are looked at" in caplog.text


def test_the_job_cap_has_a_sensible_default() -> None:
    cbs = CbsConfig.model_validate({"url": "http://x", "sys_user": "s", "sys_password": "p"})
    assert cbs.max_jobs_per_set == 20


# -- 13.5: a watched set the user does not have -----------------------------------------------


def test_a_watched_set_the_user_does_not_have_is_a_check_error_naming_it(
    make_sim: Sim, tmp_path: Any
) -> None:
    sim = make_sim({"users": [user("acme-fs", job("2026-11-22 20:00:00")), user("bob")]})
    cfg = config(sim, tmp_path, MISSING,
                 watch=[{"login": "acme-fs", "backup_sets": ["Docs", "1687505199600"]},
                        {"login": "bob"}])  # fmt: skip

    result = check(cfg)

    [error] = result.errors
    assert (error.login, error.operation) == ("acme-fs", "ListBackupSets")
    assert error.message.startswith("set 1687505199600 is not one of acme-fs's backup sets")
    # bob is judged as usual; acme-fs, not checked, gets the built-in unchecked-user alert
    assert firing(result) == {("missing", "bob", "1"), ("cbsalert-user-unchecked", "acme-fs", None)}
    assert result.exit_code == 1


def test_a_watched_set_named_by_id_or_name_is_found(make_sim: Sim, tmp_path: Any) -> None:
    sim = make_sim({"users": [user("acme-fs", job("2026-11-22 20:00:00"))]})
    cfg = config(sim, tmp_path, MISSING, watch=[{"login": "acme-fs", "backup_sets": ["1", "Docs"]}])

    result = check(cfg)

    assert result.errors == [] and firing(result) == set()


def test_without_list_backup_sets_a_watched_set_cannot_be_verified(
    make_sim: Sim, tmp_path: Any
) -> None:
    sim = make_sim({"version": "9.5.0.0", "users": [user("acme-fs")]})
    cfg = config(sim, tmp_path, MISSING, watch=[{"login": "acme-fs", "backup_sets": ["99"]}])

    result = check(cfg)

    assert result.errors == []
    assert firing(result) == {("missing", "acme-fs", "99")}


# -- 14.1: hostile names, end to end, on both backends ----------------------------------------

LONG_SET = "1687505199600" * 25
LONG_DEST = "-1687505199601" * 25
HOSTILE = "Docs\x00\x1b[2J\u202e " + "N" * 700


def test_a_check_with_hostile_names_stores_sends_and_deduplicates(
    db_url: str,  # noqa: F811 - the imported fixture
    make_sim: Sim,
    tmp_path: Any,
) -> None:
    store = StateStore(db_url)
    store.upgrade()
    store.close()
    sets = [{"id": LONG_SET, "name": HOSTILE, "destinations": [{"id": LONG_DEST}]},
            {"id": "2\x00", "name": HOSTILE + "2"}]  # fmt: skip
    jobs = [job("2026-11-22 20:00:00", set=LONG_SET, status="BS_STOP\x00"),
            job("2026-11-22 21:00:00", set="2\x00", errors="1e400")]  # fmt: skip
    sim = make_sim({"users": [{"login": "obm", "backup_sets": sets, "jobs": jobs}]})
    with SlackSink() as slack:
        notify = {"notify": ["slack"]}
        cfg = config(
            sim, tmp_path, {**BACKUP_FAILED, **notify}, {**MISSING, **notify},
            {"id": "errors", "kind": "error_count", **notify}, state=db_url,
            notifiers={"slack": {"type": "slack", "webhook_url": slack.url}},
        )  # fmt: skip

        first = check(cfg, dry_run=False)
        second = check(cfg, dry_run=False)

        messages = slack.messages
    assert first.errors == [] and first.fatal is None and first.exit_code == 0
    alerts = {(e.finding.rule, e.finding.backup_set_id or "") for e in first.reported
              if e.finding.firing}  # fmt: skip
    assert sorted(rule for rule, _ in alerts) == ["errors", "failed"]
    assert all(len(set_id) <= 255 and "\x00" not in set_id for _, set_id in alerts)
    assert (first.deliveries_sent, first.deliveries_failed) == (1, 0)
    assert second.counts()["new"] == 0 and second.deliveries_sent == 0
    assert len(messages) == 1
    assert "\x00" not in str(messages[0]) and "\ufffd" in str(messages[0])
