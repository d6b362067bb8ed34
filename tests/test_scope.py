"""One rule for what a pattern names (cbsalert.scope), wherever a config or a person names
logins, rules or backup sets: a rule's ``applies_to``, a silence, and a watch entry's
``backup_sets`` and ``ignore_sets``. Exact text always names itself; it is also a glob."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.pipeline import RunResult, run_once
from cbsalert.reconcile import ActiveSilence
from cbsalert.scope import matches, names_any
from tests.conftest import config_dict, write_config
from tests.test_rules import rule

Sim = Callable[..., Simulator]
DAY = date(2026, 11, 22)
BRACKETS = "Daily [SQL]"  # as a glob, [SQL] is one of S, Q or L


@pytest.mark.parametrize(
    ("pattern", "value", "named"),
    [
        ("Docs", "Docs", True),
        ("Doc*", "Docs", True),
        ("D?cs", "Docs", True),
        ("docs", "Docs", False),  # case matters, as on the CBS
        (BRACKETS, BRACKETS, True),  # exact text names itself, brackets and all
        (BRACKETS, "Daily S", True),  # and is a glob too
        ("Daily [[]SQL]", BRACKETS, True),
        ("*", "", False),  # a set without a name has no name to match
        ("*", None, False),
    ],
)
def test_a_pattern_names_its_exact_text_or_what_its_glob_matches(
    pattern: str, value: str | None, named: bool
) -> None:
    assert matches(pattern, value) is named


def test_a_set_is_named_by_its_id_or_its_name() -> None:
    assert names_any(["17*"], "1700", "Docs")
    assert names_any(["Docs"], "1700", "Docs")
    assert not names_any(["Mail", "18*"], "1700", "Docs")
    assert not names_any([], "1700", "Docs")


def test_a_rule_applies_to_a_set_named_with_brackets() -> None:
    only = rule(kind="backup_status", applies_to={"backup_sets": [BRACKETS]})
    assert only.applies("obm", "100", BRACKETS)
    assert not only.applies("obm", "100", "Daily")
    assert rule(kind="backup_status", applies_to={"logins": ["ob[m]"]}).applies("ob[m]")


def test_a_silence_of_a_set_named_with_brackets_silences_it() -> None:
    until = datetime(2999, 1, 1, tzinfo=UTC)
    silence = ActiveSilence(1, "backup-failed", "obm", BRACKETS, until=until)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert silence.matches("backup-failed", "obm", "100", BRACKETS, now)
    assert silence.matches("backup-failed", "obm", BRACKETS, None, now)
    assert not silence.matches("backup-failed", "obm", "100", "Daily", now)


# -- watch entries, against the simulated CBS -------------------------------------------------

SETS = [{"id": "1", "name": "Docs"}, {"id": "2", "name": "Old laptop"},
        {"id": "3", "name": "Old server"}, {"id": "4", "name": BRACKETS}]  # fmt: skip


def world(**user: Any) -> dict[str, Any]:
    ran = [{"set": "1", "start": "2026-11-22 20:00:00", "end": "2026-11-22 20:10:00"}]
    return {"users": [{"login": "obm", "backup_sets": SETS, "jobs": ran, **user}]}


def missing(sim: Simulator, tmp_path: Path, **entry: Any) -> RunResult:
    raw = config_dict(sim.url, tmp_path, watch=[{"login": "obm", **entry}],
                      rules=[{"id": "missing", "kind": "missing_backup"}])  # fmt: skip
    config = Config.model_validate(raw)
    return asyncio.run(
        run_once(config, day=DAY, dry_run=True, now=datetime(2026, 11, 23, 6, tzinfo=UTC))
    )


def firing_sets(result: RunResult) -> set[str | None]:
    return {e.finding.backup_set_id for e in result.reported if e.finding.firing}


def test_ignore_sets_takes_globs_like_every_other_set_pattern(
    make_sim: Sim, tmp_path: Path
) -> None:
    result = missing(make_sim(world()), tmp_path, ignore_sets=["Old*", BRACKETS])
    assert result.errors == [] and firing_sets(result) == set()


def test_backup_sets_takes_globs_each_set_it_names_is_expected(
    make_sim: Sim, tmp_path: Path
) -> None:
    result = missing(make_sim(world()), tmp_path, backup_sets=["Docs", "Old *"])
    assert result.errors == [] and firing_sets(result) == {"2", "3"}


def test_a_backup_sets_glob_that_names_no_set_is_a_check_error(
    make_sim: Sim, tmp_path: Path
) -> None:
    result = missing(make_sim(world()), tmp_path, backup_sets=["Docs", "Mail*"])
    [error] = result.errors
    assert error.message.startswith("set Mail* is not one of obm's backup sets")


def test_without_list_backup_sets_a_pattern_naming_no_known_set_stays_expected(
    make_sim: Sim, tmp_path: Path
) -> None:
    result = missing(make_sim({"version": "9.5.0.0", **world()}), tmp_path,
                     backup_sets=["Do*", "99"])  # fmt: skip
    assert result.errors == [] and firing_sets(result) == {"99"}


def test_a_silence_may_name_a_rule_id_with_brackets(tmp_path: Path) -> None:
    raw = config_dict("http://127.0.0.1:9", tmp_path,
                      rules=[{"id": "nightly [eu]", "kind": "backup_status"}])  # fmt: skip
    path = write_config(tmp_path / "c.yaml", raw)
    result = CliRunner().invoke(app, ["silence", "-c", str(path), "--rule", "nightly [eu]",
                                      "--login", "obm", "--until", "2999-01-01",
                                      "--reason", "migration"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
