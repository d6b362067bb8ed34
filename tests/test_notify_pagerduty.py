"""The PagerDuty notifier against the Events API v2 stand-in (cbsalert.devtools.pagerduty),
which refuses what PagerDuty refuses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cbsalert.config import Config, parse_config
from cbsalert.devtools.pagerduty import incidents, pagerduty_sink
from cbsalert.devtools.receiver import JsonReceiver, Received
from cbsalert.devtools.simulator import Simulator
from cbsalert.errors import ConfigError, DeliveryError
from cbsalert.model import AlertEvent, Finding, alert_key
from cbsalert.notify import Parts, build_context
from cbsalert.notify.http import RateLimitBudget, rate_limit_wait
from cbsalert.notify.kinds import PagerDutyConfig
from cbsalert.notify.pagerduty import RETRIES, PagerDutyNotifier
from cbsalert.notify.testmsg import sample_context
from cbsalert.pipeline import run_once
from tests.fault_world import DAY1, DAY2, NOW1, NOW2, WORLD, fault_config
from tests.sqlite_file import dump

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))
ROUTING_KEY = "S3cr3tR0ut1ngK3y" + "F0rPag3rDuty0042"


@pytest.fixture
def sink() -> Iterator[JsonReceiver]:
    with pagerduty_sink() as server:
        yield server


def notifier(sink: JsonReceiver, **extra: Any) -> PagerDutyNotifier:
    settings = {"routing_key": ROUTING_KEY, "base_url": sink.base_url, "timeout_s": 2, **extra}
    created = PagerDutyConfig.model_validate(settings).create("pd")
    assert isinstance(created, PagerDutyNotifier)
    return created


def test_each_alert_is_one_event_keyed_by_the_alert_and_pagerduty_accepts_them_all(
    sink: JsonReceiver,
) -> None:
    context = sample_context(NOW, ZONE)
    alerts = context["alerts"]

    notifier(sink, console_url="https://cbs.example.com/cbs/").send(context)

    assert [r.status for r in sink.requests] == [202] * len(alerts)
    events = {e["dedup_key"]: e for e in sink.accepted}
    assert set(events) == {alert_key(a) for a in alerts}
    for alert in alerts:
        event = events[alert_key(alert)]
        assert event["routing_key"] == ROUTING_KEY
        if alert["state"] == "resolved":
            assert event == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                             "dedup_key": alert_key(alert)}  # fmt: skip
            continue
        payload = event["payload"]
        assert event["event_action"] == "trigger"
        assert payload["severity"] == alert["severity"]
        assert payload["source"] == "backup.example.com"  # the samples' server
        assert payload["summary"].startswith(alert["login"])
        assert payload["custom_details"]["rule"] == alert["rule"]
        assert event["links"] == [
            {"href": "https://cbs.example.com/cbs/", "text": "AhsayCBS console"}
        ]
    assert {a["state"] for a in alerts} >= {"new", "escalated", "unsilenced", "repeat", "resolved"}


def test_the_hostile_samples_stay_within_pagerdutys_limits(sink: JsonReceiver) -> None:
    context = sample_context(NOW, ZONE, hostile=True)

    notifier(sink).send(context)

    assert [r.status for r in sink.requests] == [202] * len(context["alerts"])
    triggers = [e for e in sink.accepted if e["event_action"] == "trigger"]
    assert max(len(e["payload"]["summary"]) for e in triggers) == 1024  # a 10,000-char one, cut
    assert all(len(e["dedup_key"]) <= 255 for e in sink.accepted)
    assert len({e["dedup_key"] for e in sink.accepted}) == len(context["alerts"])


def test_an_event_pagerduty_refuses_is_a_permanent_failure() -> None:
    def echo_key(request: Received) -> tuple[int, Any]:  # the worst a provider could do
        return 400, {"status": "invalid event", "errors": [f"bad key {ROUTING_KEY}"]}

    with JsonReceiver(echo_key) as bad, pytest.raises(DeliveryError) as failure:
        notifier(bad).send(sample_context(NOW, ZONE))

    assert failure.value.permanent and "HTTP 400" in str(failure.value)
    assert ROUTING_KEY not in str(failure.value)


def test_rate_limits_and_server_errors_are_retried(sink: JsonReceiver) -> None:
    context = sample_context(NOW, ZONE)
    sink.fail_next(429, retry_after=0)
    sink.fail_next(500)

    notifier(sink).send(context)

    assert [r.status for r in sink.requests[:3]] == [429, 500, 202]
    assert len(sink.accepted) == len(context["alerts"])


def test_a_rate_limit_without_retry_after_waits_as_pagerduty_advises() -> None:
    assert rate_limit_wait({}, RETRIES, RateLimitBudget()) == 30.0


def test_a_retry_after_a_failure_partway_sends_only_the_remaining_events(
    sink: JsonReceiver,
) -> None:
    context = sample_context(NOW, ZONE)
    count = len(context["alerts"])
    recorded: list[tuple[int, str]] = []
    sink.fail_next(400, after=2)

    with pytest.raises(DeliveryError, match=f"event 3 of {count}"):
        notifier(sink).send(context, Parts(record=lambda n, key: recorded.append((n, key))))
    sent, key = recorded[-1]
    notifier(sink).send(context, Parts(sent, key))

    assert sent == 2 and len(sink.accepted) == count


def _event(day: date, state: str) -> AlertEvent:
    finding = Finding(rule="backup-failed", kind="backup_status", severity="critical",
                      firing=state != "resolved", login="ann", day=day, backup_set_id="1",
                      summary=f"{state} on {day}")  # fmt: skip
    return AlertEvent(finding, state)  # type: ignore[arg-type]


def test_an_alert_that_resolved_and_failed_again_in_one_catch_up_ends_open(
    sink: JsonReceiver,
) -> None:
    events = [_event(date(2026, 11, 20), "resolved"), _event(date(2026, 11, 21), "new")]
    context = build_context(date(2026, 11, 21), ZONE, events, NOW)

    notifier(sink).send(context)

    assert list(incidents(sink)) == ["backup-failed|ann|1|"]


def test_a_test_message_opens_one_marked_incident_and_resolves_it(sink: JsonReceiver) -> None:
    notifier(sink).send(sample_context(NOW, ZONE, test=True))

    trigger, resolve = sink.accepted
    assert trigger["payload"]["summary"].startswith("TEST from cbsalert")
    assert resolve["event_action"] == "resolve" and incidents(sink) == {}


def test_max_alerts_is_refused_since_every_alert_is_an_event(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failure:
        parse_config(
            "cbs: {url: 'http://127.0.0.1:1', sys_user: s, sys_password: p}\n"
            "watch: [{login: a}]\nrules: [{id: r, kind: backup_status}]\n"
            f"notifiers:\n  pd: {{type: pagerduty, routing_key: {ROUTING_KEY}, max_alerts: 5}}\n",
            "cbsalert.yaml",
        )
    [problem] = failure.value.problems
    assert "max_alerts does not apply" in problem and ROUTING_KEY not in problem


def test_a_run_pages_and_resolves_and_the_routing_key_is_never_logged_or_stored(
    make_sim: Callable[..., Simulator],
    sink: JsonReceiver,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = make_sim(WORLD)
    raw = fault_config(sim.url, tmp_path)
    raw["notifiers"] = {"pd": {"type": "pagerduty", "routing_key": ROUTING_KEY,
                               "base_url": sink.base_url, "timeout_s": 2}}  # fmt: skip
    raw["rules"][0]["notify"] = ["pd"]
    config = Config.model_validate(raw)
    caplog.set_level(logging.DEBUG)

    asyncio.run(run_once(config, day=DAY1, now=NOW1))
    opened = set(incidents(sink))
    sink.fail_next(400)  # the first event of DAY2 is refused: a failure in the database
    asyncio.run(run_once(config, day=DAY2, now=NOW2))

    assert opened == {"backup-failed|user-alice|1|11", "backup-failed|user-bob|2|21"}
    assert ROUTING_KEY not in caplog.text and "HTTP 400" in caplog.text
    assert ROUTING_KEY not in dump(tmp_path / "state.db")
