"""A check killed at any point, two checks at once, a full disk, a read-only state file.

Every test runs the real CLI in subprocesses against the simulated CBS, a Slack stand-in
and an SMTP server, all on loopback, with a real SQLite file. A killed or failed run is
followed by a normal one, which must deliver everything owed with at most one duplicate
per notifier (the message that was on the wire when the run died). Each notifier gets one
digest per run, so "one duplicate" is one message too many.

Where the run is killed:

* while fetching: the test watches the simulator's call log and kills once calls came in;
* at a named step of the run (cbsalert.devtools.faults, started with ``--kill-at``; the
  process SIGKILLs itself as the pipeline passes the step): after evaluating; after
  reconciling (owed deliveries committed, run lock held); between send and record (the
  first message reached the Slack stand-in, the run never marked it sent). An injected
  crash at an exact point instead of a timing guess.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import EXIT_OK, EXIT_STATE, LockTimeoutError
from cbsalert.state import open_store
from tests.cli_process import run_cli, run_faulty, start_cli, wait_for
from tests.delivered import assert_delivered, mail_texts, slack_texts
from tests.fault_world import check_args, check_in_process, fault_config, many_users, save
from tests.scripted_sim import ScriptedSim
from tests.sqlite_file import dump, query

pytestmark = pytest.mark.slow  # starts processes, waits on real timeouts

USERS = [f"user-{i:03d}" for i in range(4)]


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(many_users(len(USERS)))


def config_file(
    sim: Simulator,
    tmp_path: Path,
    slack_url: str,
    smtp: SmtpSink,
    name: str = "cbsalert.yaml",
    **extra: str,
) -> Path:
    # A short lock timeout: a dead run's lock must be taken over, not waited out.
    raw = fault_config(sim.url, tmp_path, logins=USERS, slack_url=slack_url,
                       smtp_port=smtp.port, lock_timeout_s=3, **extra)  # fmt: skip
    return save(tmp_path, raw, name)


def assert_all_delivered(
    slack: list[dict[str, object]], smtp: SmtpSink, *, slack_duplicates: int = 0
) -> None:
    assert_delivered(slack_texts(slack), USERS, duplicates=slack_duplicates)
    assert_delivered(mail_texts(smtp.messages), USERS)


def deliveries(tmp_path: Path) -> list[tuple[str, int]]:
    return query(tmp_path / "state.db", "SELECT status, count(*) FROM deliveries GROUP BY 1")


def test_a_run_killed_between_send_and_record_is_made_good_with_one_duplicate(
    sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    path = config_file(sim, tmp_path, slack.url, smtp)

    killed = run_faulty(check_args(path), kill_at="sent")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(slack.messages) == 1 and smtp.messages == []
    assert deliveries(tmp_path) == [("sending", 2)]  # claimed, then the run died

    after = check_in_process(path)

    assert (after.exit_code, after.deliveries_failed) == (EXIT_OK, 0)
    assert_all_delivered(slack.messages, smtp, slack_duplicates=1)
    assert deliveries(tmp_path) == [("sent", 2)]


@pytest.mark.parametrize(
    ("step", "left_behind"),
    [("evaluated", []), ("reconciled", [("pending", 2)])],
)
def test_a_run_killed_after_a_step_loses_nothing_and_sends_nothing_twice(
    step: str,
    left_behind: list[tuple[str, int]],
    sim: Simulator,
    slack: SlackSink,
    smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    path = config_file(sim, tmp_path, slack.url, smtp)

    killed = run_faulty(check_args(path), kill_at=step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert slack.messages == [] and smtp.messages == []
    assert deliveries(tmp_path) == left_behind
    after = check_in_process(path)

    assert (after.exit_code, after.deliveries_failed) == (EXIT_OK, 0)
    assert_all_delivered(slack.messages, smtp)
    assert deliveries(tmp_path) == [("sent", 2)]


def test_a_run_killed_while_fetching_leaves_no_state_and_the_next_run_sends_all(
    make_sim: Callable[..., Simulator], slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    sim = make_sim({**many_users(len(USERS)), "latency_ms": 100})
    path = config_file(sim, tmp_path, slack.url, smtp)
    killed = start_cli(*check_args(path))
    wait_for(lambda: sim.count() >= 3, what="the run to start fetching")
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    assert sim.count() < 3 * len(USERS)  # it died before it had fetched everything
    state = tmp_path / "state.db"
    assert not state.exists() or query(state, "SELECT count(*) FROM alerts") == [(0,)]
    assert slack.messages == [] and smtp.messages == []

    sim.set_data(sim.data.model_copy(update={"latency_ms": 0}))
    after = check_in_process(path)

    assert (after.exit_code, after.deliveries_failed) == (EXIT_OK, 0)
    assert_all_delivered(slack.messages, smtp)


@pytest.mark.parametrize("database", ["fresh", "existing"])
def test_two_checks_at_once_on_one_sqlite_file_send_each_alert_once(
    database: str,
    make_sim: Callable[..., Simulator],
    slack: SlackSink,
    smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    sim = make_sim({**many_users(len(USERS)), "latency_ms": 20})
    raw = fault_config(sim.url, tmp_path, logins=USERS, slack_url=slack.url, smtp_port=smtp.port)
    path = save(tmp_path, raw)
    if database == "existing":  # the schema is there (e.g. from yesterday), no alert yet
        open_store(raw["state"], auto_upgrade=True).close()

    runs = [start_cli(*check_args(path)) for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]

    assert [run.returncode for run in runs] == [EXIT_OK, EXIT_OK], outputs
    assert_all_delivered(slack.messages, smtp)
    assert deliveries(tmp_path) == [("sent", 2)]
    stdout = [out for out, _ in outputs]
    assert sum("alerts: 4 new" in out for out in stdout) == 1, stdout
    assert sum("0 new, 0 reminders, 4 still firing" in out for out in stdout) == 1, stdout


# -- the state file cannot be written ---------------------------------------------------------


def _existing_state(tmp_path: Path) -> tuple[Path, str]:
    """A state database as yesterday's run left it: schema, no alert."""
    state = tmp_path / "state.db"
    open_store(f"sqlite:///{state}", auto_upgrade=True).close()
    return state, dump(state)


def _assert_failed_cleanly(
    run: subprocess.CompletedProcess[str], reason: str, state: Path, before: str
) -> None:
    assert run.returncode == EXIT_STATE, run.stderr
    assert "Traceback" not in run.stderr
    assert "state database" in run.stderr and reason in run.stderr, run.stderr
    assert len(run.stderr.splitlines()) <= 5, run.stderr
    assert query(state, "PRAGMA integrity_check") == [("ok",)]
    # Not one row of the failed run is left behind, but for job history: a run writes what
    # it fetched as it goes, before its alerts (so its memory does not grow with the users),
    # and the next run of the day replaces those rows.
    assert _without_history(dump(state)) == _without_history(before)


def _without_history(sql: str) -> str:
    return "\n".join(
        line for line in sql.splitlines() if not line.startswith('INSERT INTO "job_history"')
    )


def test_a_full_disk_fails_the_run_clearly_and_leaves_the_state_as_it_was(
    sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    """The disk is "full" for the run: a file-size limit (RLIMIT_FSIZE, which binds root
    too) at the database's current size, so SQLite cannot grow the file to store the
    alerts. SQLite reports that as an I/O error rather than SQLITE_FULL; the path is the same.
    """
    path = config_file(sim, tmp_path, slack.url, smtp)
    state, before = _existing_state(tmp_path)

    full = run_faulty(check_args(path), file_size_limit=state.stat().st_size)

    _assert_failed_cleanly(full, "cannot write", state, before)
    assert slack.messages == [] and smtp.messages == []
    after = check_in_process(path)
    assert (after.exit_code, after.deliveries_failed) == (EXIT_OK, 0)
    assert_all_delivered(slack.messages, smtp)
    [(rows, days)] = query(state, "SELECT COUNT(*), COUNT(DISTINCT login || day) FROM job_history")
    assert rows == days  # one set per user, day: the failed run's rows were replaced


def _make_read_only(state: Path) -> Callable[[], object] | None:
    """Make the file read-only for this user; returns the undo, or None if we cannot.

    chmod does not stop root, so as root the file is made immutable (chattr +i), which does.
    """
    if os.geteuid() != 0:
        state.chmod(0o444)
        return lambda: state.chmod(0o644)
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(state)]).returncode != 0:
        return None
    return lambda: subprocess.run([chattr, "-i", str(state)], check=True)


def test_a_read_only_state_file_fails_clearly_and_sends_nothing(
    sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    """The file is made read-only for real; where even that is impossible (root on a file
    system without chattr), SQLite is told to open it read-only (``mode=ro``), which takes
    the same path through cbsalert."""
    path = config_file(sim, tmp_path, slack.url, smtp)
    state, before = _existing_state(tmp_path)
    undo = _make_read_only(state)
    target = path
    if undo is None:
        read_only_url = f"sqlite:///file:{state}?mode=ro&uri=true"
        target = config_file(sim, tmp_path, slack.url, smtp, "read-only.yaml", state=read_only_url)
    try:
        refused = run_cli(*check_args(target))
    finally:
        if undo is not None:
            undo()

    _assert_failed_cleanly(refused, "readonly", state, before)
    assert slack.messages == [] and smtp.messages == []
    after = check_in_process(path)
    assert (after.exit_code, after.deliveries_failed) == (EXIT_OK, 0)
    assert_all_delivered(slack.messages, smtp)


# -- the run lock of a run that is gone -------------------------------------------------------


def test_the_lock_of_a_dead_run_on_this_host_is_taken_over_and_a_live_one_is_not(
    tmp_path: Path,
) -> None:
    """The holder is a real check, held up by a user whose answer does not come."""
    state = tmp_path / "state.db"
    store = open_store(f"sqlite:///{state}", auto_upgrade=True)
    with ScriptedSim(many_users(1), slow={"user-000": 60}) as sim:
        raw = fault_config(sim.url, tmp_path, logins=["user-000"], cbs={"timeout_s": 60})
        holder = start_cli(*check_args(save(tmp_path, raw)))
        try:
            wait_for(lambda: sim.count() >= 1, what="the check to take the lock and fetch")
            alive = f"{socket.gethostname()}:{holder.pid}"
            with pytest.raises(LockTimeoutError, match=alive), store.lock.hold("next", 0.3):
                pass
        finally:
            holder.kill()
            holder.communicate()
    with store.lock.hold("next", timeout_s=0):  # its lock had ten minutes to run
        pass
    # A holder on another host may be alive: only its lock's expiry frees it.
    query(state, "UPDATE run_lock SET holder = 'elsewhere:1', "
          "expires_at = '2999-01-01 00:00:00.000000'")  # fmt: skip
    with pytest.raises(LockTimeoutError, match="elsewhere:1"), store.lock.hold("next", 0.3):
        pass
    store.close()
