"""CBS faults on the simulated CBS: each one gives a clear message and the right exit code,
the other users are still checked where possible, and no alert is changed by a fetch
that failed (a failed fetch is never evidence that a problem is fixed).

The story of most tests (see ``fault_world``): on DAY1 the backups of alice and bob
failed and people were told. On DAY2 alice's backup succeeded, but the fetch of her data
fails; her alert must stay firing, untouched, with nothing sent. A later run of DAY2
without the fault resolves it, as it should.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from rich.console import Console
from typer.testing import CliRunner

from cbsalert.cbs import CbsClient
from cbsalert.cli import app
from cbsalert.config import Config
from cbsalert.devtools.simulator import SimFaults, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import EXIT_CBS, EXIT_OK, EXIT_PARTIAL, CbsApiError
from cbsalert.pipeline import RunResult, run_once
from cbsalert.report import print_run
from tests.conftest import SYS_PASSWORD
from tests.delivered import slack_texts
from tests.fault_world import (
    ALICE,
    BOB,
    CAROL,
    DAY1,
    DAY2,
    NOW1,
    NOW2,
    WORLD,
    check_args,
    fault_config,
    save,
)
from tests.scripted_sim import ScriptedSim
from tests.sqlite_file import query

ALICE_ROW = f"SELECT * FROM alerts WHERE login = '{ALICE}' AND rule = 'backup-failed'"


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim({**WORLD, "faults": {"hang_s": 0.6}})


def make_config(url: str, tmp_path: Path, slack: SlackSink, **cbs: Any) -> Config:
    """A roomy request timeout by default, so a busy machine fails no test that is not about
    time; the ones that are set theirs."""
    cbs = {"timeout_s": 5, "retries": 1, "backoff_s": 0.01, **cbs}
    return Config.model_validate(fault_config(url, tmp_path, slack_url=slack.url, cbs=cbs))


def run(config: Config, day: Any = DAY2, now: Any = NOW2) -> RunResult:
    return asyncio.run(run_once(config, day=day, now=now))


def told_on_day1(config: Config, slack: SlackSink, tmp_path: Path) -> tuple[Any, ...]:
    """Run DAY1: alice and bob fail and are announced. Returns alice's stored alert row."""
    first = run(config, DAY1, NOW1)
    assert (first.exit_code, first.deliveries_sent) == (EXIT_OK, 1)
    assert ALICE in slack_texts(slack.messages)[0] and BOB in slack_texts(slack.messages)[0]
    [row] = query(tmp_path / "state.db", ALICE_ROW)
    return row


def states(tmp_path: Path) -> dict[str, str]:
    sql = "SELECT login, state FROM alerts WHERE rule = 'backup-failed'"
    return dict(query(tmp_path / "state.db", sql))


def assert_resolved_once_the_fault_is_gone(
    config: Config, slack: SlackSink, tmp_path: Path
) -> None:
    before = len(slack.messages)
    again = run(config)
    assert (again.exit_code, again.errors) == (EXIT_OK, [])
    assert states(tmp_path)[ALICE] == "resolved"
    [message] = slack_texts(slack.messages[before:])
    assert ALICE in message and "resolved" in message.lower()


# -- one user's fetch fails -------------------------------------------------------------------

# (simulator fault, operation it hits, how many times, what the check error must say)
ONE_USER_FAULTS = {
    "timeout": ("timeout", "ListBackupJobMode", 2,
                "timed out after 0.3 s (cbs.timeout_s) (gave up after 2 attempts)"),
    "HTTP 500": ("500", "ListRestoreJobStatus", 2, "HTTP 500"),
    "HTML 502": ("502_html", "ListBackupJobMode", 2, "HTTP 502: <html><head><title>502 Bad Gat"),
    "truncated JSON": ("truncated", "ListBackupSets", 1, "not JSON (HTTP 200)"),
    "Data a string": ("data_string", "ListBackupJobMode", 1, "Data is str, expected a list"),
    "a list where a record belongs": (
        "data_list", "GetBackupJobReportSummary", 1, "Data is list, expected an object",
    ),
}  # fmt: skip


@pytest.mark.parametrize("fault", list(ONE_USER_FAULTS))
def test_one_users_failed_fetch_is_a_check_error_and_resolves_nothing(
    fault: str, sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    kind, operation, count, message = ONE_USER_FAULTS[fault]
    config = make_config(sim.url, tmp_path, slack)
    alice_before = told_on_day1(config, slack, tmp_path)
    sim.inject(kind, count=count, operation=operation, login=ALICE)  # type: ignore[arg-type]
    # The timeout fault: a request timeout shorter than the simulator's hang (0.6 s).
    faulty = make_config(sim.url, tmp_path, slack, timeout_s=0.3) if kind == "timeout" else config

    result = run(faulty)

    assert result.exit_code == EXIT_PARTIAL
    [error] = result.errors
    assert (error.login, error.operation) == (ALICE, operation)
    assert message in error.message
    assert result.users_checked == 2  # bob and carol
    assert query(tmp_path / "state.db", ALICE_ROW) == [alice_before]
    assert states(tmp_path) == {ALICE: "firing", BOB: "firing"}
    # Nothing new about backups (bob was told, alice's are unknown): only that alice could
    # not be checked.
    [told] = slack_texts(slack.messages[1:])
    assert f"could not check {ALICE}" in told and BOB not in told
    assert_resolved_once_the_fault_is_gone(config, slack, tmp_path)


def test_status_error_for_one_user_only_leaves_the_others_checked(
    slack: SlackSink, tmp_path: Path
) -> None:
    with ScriptedSim(WORLD) as sim:
        config = make_config(sim.url, tmp_path, slack)
        alice_before = told_on_day1(config, slack, tmp_path)
        sim.api_error[ALICE] = "[BackupSetManager] Cannot read the job list"

        result = run(config)

        assert result.exit_code == EXIT_PARTIAL
        assert [(e.login, e.operation, e.message) for e in result.errors] == [
            (ALICE, "ListBackupJobMode", "[BackupSetManager] Cannot read the job list")
        ]
        assert query(tmp_path / "state.db", ALICE_ROW) == [alice_before]
        del sim.api_error[ALICE]
        assert_resolved_once_the_fault_is_gone(config, slack, tmp_path)


def test_a_set_that_vanished_for_one_user_does_not_make_the_server_look_old(
    make_sim: Callable[..., Simulator],
) -> None:
    """GetBackupSet answering "not found" for one set (deleted since its job ran) is that
    user's problem; the other users' destinations must still be read (their alert keys
    depend on them)."""
    world = {"users": [
        {"login": ALICE, "backup_sets": [{"id": "1", "name": "Docs"}]},
        {"login": BOB, "backup_sets": []},
        {"login": CAROL, "backup_sets": [{"id": "3", "name": "Photos"}]},
    ]}  # fmt: skip
    sim = make_sim(world)

    async def destinations() -> list[Any]:
        async with CbsClient(sim.url, "system", SecretStr(SYS_PASSWORD), retries=0) as client:
            first = await client.get_destinations(ALICE, "1")
            with pytest.raises(CbsApiError, match="Backup set '9' not found"):
                await client.get_destinations(BOB, "9")
            return [first, await client.get_destinations(CAROL, "3")]

    alice, carol = asyncio.run(destinations())
    assert alice is not None and [d.id for d in alice] == ["11"]
    assert carol is not None and [d.id for d in carol] == ["31"]
    assert sim.count("GetBackupSet") == 3


# -- the CBS cannot be used at all ------------------------------------------------------------

WHOLE_CBS_FAULTS = ["connection refused", "wrong credentials", "HTML 502 everywhere",
                    "slower than the run deadline"]  # fmt: skip


@pytest.mark.parametrize("fault", WHOLE_CBS_FAULTS)
def test_an_unusable_cbs_exits_3_says_why_and_resolves_nothing(
    fault: str, sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    config = make_config(sim.url, tmp_path, slack)
    alice_before = told_on_day1(config, slack, tmp_path)
    cbs: dict[str, Any] = {}
    if fault == "connection refused":
        cbs["url"] = f"http://127.0.0.1:{SmtpSink.closed_port()}"
        expected = "cannot connect"
    elif fault == "wrong credentials":
        cbs["sys_password"] = "not-the-password"
        expected = "Incorrect system username/password"
    elif fault == "HTML 502 everywhere":
        sim.set_data(sim.data.model_copy(update={"faults": SimFaults(html_rate=1.0)}))
        expected = "HTTP 502"
    else:
        sim.set_data(sim.data.model_copy(update={"latency_ms": 400}))
        cbs.update(deadline_s=0.5, timeout_s=5)
        expected = "the run deadline of 0.5 s (cbs.deadline_s) passed before any user was checked"
    broken = make_config(cbs.pop("url", sim.url), tmp_path, slack, **cbs)

    result = run(broken)

    assert result.exit_code == EXIT_CBS
    assert result.fatal is not None and expected in result.fatal, result.fatal
    assert query(tmp_path / "state.db", ALICE_ROW) == [alice_before]
    assert states(tmp_path)[BOB] == "firing"
    # The one message is the built-in meta alert; not a word about alice being fixed.
    [message] = slack_texts(slack.messages[1:])
    assert "CBS" in message and ALICE not in message
    sim.set_data(sim.data.model_copy(update={"latency_ms": 0, "faults": SimFaults()}))
    assert_resolved_once_the_fault_is_gone(config, slack, tmp_path)


def test_a_user_still_unanswered_at_the_run_deadline_is_a_check_error(
    slack: SlackSink, tmp_path: Path
) -> None:
    with ScriptedSim(WORLD) as sim:
        config = make_config(sim.url, tmp_path, slack)
        alice_before = told_on_day1(config, slack, tmp_path)
        sim.slow[ALICE] = 10.0  # far past the deadline, well within the request timeout
        # Room for bob and carol (a few calls each) on a busy machine; none for alice.
        late = make_config(sim.url, tmp_path, slack, deadline_s=1.5, timeout_s=20)

        result = run(late)

        assert result.exit_code == EXIT_PARTIAL
        assert [(e.login, e.message) for e in result.errors] == [
            (ALICE, "not checked: the run deadline of 1.5 s (cbs.deadline_s) passed")
        ]
        assert result.users_checked == 2
        assert query(tmp_path / "state.db", ALICE_ROW) == [alice_before]


def test_the_run_deadline_defaults_to_an_hour_and_must_be_positive(tmp_path: Path) -> None:
    raw = fault_config("http://127.0.0.1:9", tmp_path)
    assert Config.model_validate(raw).cbs.deadline_s == 3600
    raw["cbs"]["deadline_s"] = 0
    with pytest.raises(ValueError, match="deadline_s"):
        Config.model_validate(raw)


# -- through the command line ------------------------------------------------------------------


def test_the_cli_names_the_user_that_could_not_be_checked_and_exits_1(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    raw = fault_config(sim.url, tmp_path, slack_url=slack.url,
                       cbs={"timeout_s": 5, "retries": 1, "backoff_s": 0.01})  # fmt: skip
    path = save(tmp_path, raw)
    sim.inject("502_html", count=2, operation="ListBackupJobMode", login=ALICE)

    done = CliRunner().invoke(app, check_args(path, DAY2))

    assert done.exit_code == EXIT_PARTIAL, done.output
    assert "Users that could not be checked" in done.stdout
    assert ALICE in done.stdout and "HTTP 502" in done.stdout
    assert f"checked 2/3 users for {DAY2}" in done.stdout


def test_the_cli_exits_3_and_says_the_cbs_cannot_be_used(slack: SlackSink, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{SmtpSink.closed_port()}"
    path = save(tmp_path, fault_config(url, tmp_path, slack_url=slack.url))

    done = CliRunner().invoke(app, check_args(path, DAY2))

    assert done.exit_code == EXIT_CBS, done.output
    assert "the CBS cannot be used" in done.stdout and "cannot connect" in done.stdout
    assert "Traceback" not in done.output


def test_a_check_error_is_printed_with_the_login_operation_and_message(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    sim.inject("truncated", operation="ListBackupSets", login=BOB)
    result = run(make_config(sim.url, tmp_path, slack))
    console = Console(record=True, width=200)
    print_run(console, result)
    text = console.export_text()
    assert "Users that could not be checked" in text
    assert BOB in text and "ListBackupSets" in text and "not JSON" in text
