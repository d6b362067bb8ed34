"""``run_once`` end to end on the simulator and the Slack stand-in, read for its order of writes.

pipeline.py promises that a crash is harmless because the alert's transition and the
delivery it implies are committed *before* the message is sent, and the delivery is marked
only after. The Slack stand-in here reads the state file (as an operator's ``sqlite3``
would) at the moment each message reaches it, so what was committed by then is visible.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.pipeline import RunResult, run_once
from tests.conftest import config_dict
from tests.sqlite_file import query

DAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
FAILED_JOB = {"set": "1", "start": "2026-11-22 22:00:00", "end": "2026-11-22 22:20:00",
              "status": "BS_STOP_BY_SYSTEM_ERROR"}  # fmt: skip
WORLD = {"users": [{"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"}],
                    "jobs": [FAILED_JOB]}]}  # fmt: skip
Rows = list[tuple[Any, ...]]


class WitnessSlack(SlackSink):
    """A Slack stand-in that, as each message arrives, notes what the state file holds."""

    def __init__(self, state: Path, **kwargs: Any) -> None:
        self.state = state
        self.at_arrival: list[dict[str, Rows]] = []
        super().__init__(**kwargs)

    def _answer(
        self, kind: Literal["webhook", "api"], path: str, payload: dict[str, Any], auth: str | None
    ) -> tuple[int, str, dict[str, str]]:
        self.at_arrival.append(committed(self.state))
        return super()._answer(kind, path, payload, auth)


def committed(state: Path) -> dict[str, Rows]:
    return {
        "alerts": query(state, "SELECT login, state FROM alerts"),
        "transitions": query(state, "SELECT from_state, to_state FROM transitions"),
        "deliveries": query(state, "SELECT notifier, status, attempts FROM deliveries"),
    }


def make_config(sim: Simulator, slack: SlackSink, tmp_path: Path) -> Config:
    rules = [{"id": "failed", "kind": "backup_status", "notify": ["ops"]}]
    raw = config_dict(sim.url, tmp_path, rules=rules,
                      notifiers={"ops": {"type": "slack", "webhook_url": slack.url}})  # fmt: skip
    return Config.model_validate(raw)


def check(config: Config, now: datetime = NOW) -> RunResult:
    return asyncio.run(run_once(config, day=DAY, now=now))


def test_the_alert_and_its_delivery_are_committed_before_the_message_is_sent(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    with WitnessSlack(state) as slack:
        result = check(make_config(make_sim(WORLD), slack, tmp_path))
    assert (result.outcome, result.deliveries_sent, result.deliveries_failed) == ("ok", 1, 0)
    [seen] = slack.at_arrival
    assert seen == {
        "alerts": [("obm", "firing")],
        "transitions": [(None, "firing")],
        "deliveries": [("ops", "sending", 1)],  # claimed by this run, not yet marked
    }
    assert committed(state)["deliveries"] == [("ops", "sent", 1)]


def test_a_message_slack_refused_stays_owed_and_the_next_run_sends_it_once(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    # A Retry-After longer than the notifier waits: this run's post fails (transiently) at once.
    with WitnessSlack(state, retry_after=3600) as slack:
        config = make_config(make_sim(WORLD), slack, tmp_path)
        slack.fail_next("ratelimit")
        first = check(config)
        after_first = committed(state)
        second = check(config, NOW + timedelta(hours=1))
    assert (first.deliveries_sent, first.deliveries_failed, first.exit_code) == (0, 1, 1)
    assert after_first["alerts"] == [("obm", "firing")]
    assert after_first["deliveries"] == [("ops", "failed", 1)]
    assert (second.deliveries_sent, second.deliveries_failed) == (1, 0)
    assert committed(state)["deliveries"] == [("ops", "sent", 2)]
    assert committed(state)["transitions"] == [(None, "firing")]  # the rerun changed nothing
    assert len(slack.messages) == 1
