"""Scheduled reports sent by real `cbsalert serve` processes: two instances on one state
database, a report firing every second in both, and one message for the report's period."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cbsalert.config import load_config
from cbsalert.devtools.slack import SlackSink
from tests.grid_history import days, write, yesterday
from tests.test_serve import NEVER_SOON, Serve, make_config, put_config, wait_until

pytestmark = pytest.mark.slow  # two service processes
SENT = r"report daily \(\S+ to \S+\) sent to chat"
ALREADY = r"report daily: already sent for this period"


def test_two_serve_instances_send_a_scheduled_report_once_for_its_period(
    slack: SlackSink, tmp_path: Path
) -> None:
    raw = make_config(
        "http://127.0.0.1:9", tmp_path, schedule=NEVER_SOON,
        notifiers={"chat": {"type": "slack", "webhook_url": slack.url}},
        reports=[{"name": "daily", "schedule": "* * * * * *", "days": 3, "kind": "grid",
                  "notify": ["chat"]}],
    )  # fmt: skip
    path = put_config(tmp_path / "cbsalert.yaml", raw)
    write(load_config(path).state, days("obm", "1", "oof", name="Docs"))

    with (
        Serve(tmp_path, "serve", "-c", str(path)) as first,
        Serve(tmp_path, "serve", "-c", str(path)) as second,
    ):
        assert "reports: next daily " in first.log
        wait_until(lambda: first.count(ALREADY) + second.count(ALREADY) >= 4, "four more firings")
        assert first.stop() == 0 and second.stop() == 0
    assert first.count(SENT) + second.count(SENT) == 1
    [post] = slack.messages
    assert f"to {yesterday()}" in json.dumps(post) and "Docs" in json.dumps(post)
