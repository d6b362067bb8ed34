"""The Alertmanager notifier against a real Alertmanager (tests/alertmanager_process.py),
queried back through its API; and what the pipeline gives a kind that wants every firing
alert."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cbsalert.config import Config, parse_config
from cbsalert.devtools.simulator import Simulator
from cbsalert.errors import ConfigError, DeliveryError
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import build_context
from cbsalert.notify.alertmanager import AlertmanagerNotifier, latest
from cbsalert.notify.kinds import AlertmanagerConfig
from cbsalert.notify.testmsg import sample_context, send_test
from cbsalert.pipeline import plan_messages, run_once
from tests.alertmanager_process import Alertmanager
from tests.conftest import config_dict
from tests.fault_world import ALICE, BOB, DAY1, DAY2, WORLD, fault_config

ZONE = "Europe/Amsterdam"
FIXED = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def notifier(url: str, **extra: Any) -> AlertmanagerNotifier:
    created = AlertmanagerConfig.model_validate({"url": url, "timeout_s": 2, **extra}).create("am")
    assert isinstance(created, AlertmanagerNotifier)
    return created


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_every_firing_alert_is_posted_each_run_a_resolved_one_ends_and_none_is_duplicated(
    alertmanager: Alertmanager, make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(WORLD)
    server = sim.url.removeprefix("http://")
    raw = fault_config(sim.url, tmp_path)
    raw["cbs"]["name"] = server  # the label that keeps this test's alerts apart
    raw["notifiers"] = {"am": {"type": "alertmanager", "url": alertmanager.url, "timeout_s": 5}}
    raw["rules"][0]["notify"] = ["am"]
    config = Config.model_validate(raw)
    # Alertmanager judges endsAt by its own clock: the runs happen "now", about past days.
    now = datetime.now(UTC).replace(microsecond=0)
    run1, run2, run3 = now - timedelta(hours=3), now - timedelta(hours=2), now - timedelta(hours=1)

    asyncio.run(run_once(config, day=DAY1, now=run1))
    first = {a["labels"]["login"]: a for a in alertmanager.alerts(server=server)}
    asyncio.run(run_once(config, day=DAY2, now=run2))
    second = alertmanager.alerts(server=server)
    asyncio.run(run_once(config, day=DAY2, now=run3))  # the same day again
    third = alertmanager.alerts(server=server)

    assert set(first) == {ALICE, BOB}
    assert first[BOB]["labels"] == {
        "alertname": "backup-failed", "server": server, "login": BOB, "backup_set": "2",
        "destination": "21", "severity": "critical",
    }  # fmt: skip
    annotations = first[BOB]["annotations"]
    assert "Mail" in annotations["summary"] and annotations["hint"] and annotations["description"]
    assert when(first[BOB]["startsAt"]) == run1
    assert when(first[BOB]["endsAt"]) == run1 + timedelta(days=2)
    # DAY2: alice's alert resolved (ended: no longer listed); bob's still fails, unchanged
    # (nobody is told), yet posted again with a later endsAt, as one alert.
    [bob] = second
    assert bob["labels"]["login"] == BOB and bob["fingerprint"] == first[BOB]["fingerprint"]
    assert when(bob["endsAt"]) == run2 + timedelta(days=2)
    assert when(bob["startsAt"]) == run1
    [bob_again] = third
    assert when(bob_again["endsAt"]) == run3 + timedelta(days=2)


def test_only_a_kind_that_wants_all_firing_hears_an_alert_that_keeps_failing(
    tmp_path: Path,
) -> None:
    notifiers = {"am": {"type": "alertmanager", "url": "http://127.0.0.1:1"},
                 "chat": {"type": "slack", "webhook_url": "https://example.com/x"}}  # fmt: skip
    rules = [{"id": "routed", "kind": "backup_status", "notify": ["am", "chat"]},
             {"id": "elsewhere", "kind": "backup_status", "notify": ["chat"]}]  # fmt: skip
    config = Config.model_validate(
        config_dict("http://127.0.0.1:1", tmp_path, notifiers=notifiers, rules=rules)
    )

    def firing(rule: str, login: str, *, silenced: bool = False) -> AlertEvent:
        finding = Finding(rule=rule, kind="backup_status", severity="critical", firing=True,
                          login=login, day=DAY2, summary="failed")  # fmt: skip
        return AlertEvent(finding, "firing", silenced=silenced)

    events = [firing("routed", "ann"), firing("routed", "bo", silenced=True),
              firing("elsewhere", "cy")]  # fmt: skip
    planned = list(plan_messages(config, events, DAY2, FIXED))

    assert [(name, keys) for name, _, keys in planned] == [("am", ["routed|ann||"])]


def _event(state: str, severity: str = "critical", **extra: Any) -> AlertEvent:
    finding = Finding(rule="backup-failed", kind="backup_status", severity=severity,  # type: ignore[arg-type]
                      firing=state != "resolved", login="ann", day=extra.pop("day", DAY2),
                      backup_set_id="1", summary="failed")  # fmt: skip
    return AlertEvent(finding, state, since=FIXED - timedelta(days=1), **extra)  # type: ignore[arg-type]


def test_a_resolved_alert_ends_now_and_a_changed_severity_ends_the_old_label_set() -> None:
    events = [_event("escalated", "critical", previous_severity="warning")]
    context = build_context(DAY2, ZONE, events, FIXED, server="cbs.example.com")
    [[escalated, old]] = notifier("http://127.0.0.1:1").render(context)
    resolved_context = build_context(DAY2, ZONE, [_event("resolved")], FIXED)
    [[resolved]] = notifier("http://127.0.0.1:1").render(resolved_context)

    assert escalated["labels"]["severity"] == "critical"
    assert when(escalated["endsAt"]) == FIXED + timedelta(days=2)
    assert old["labels"] == {**escalated["labels"], "severity": "warning"}
    assert when(old["endsAt"]) == FIXED
    assert when(resolved["endsAt"]) == FIXED
    assert when(resolved["startsAt"]) == FIXED - timedelta(days=1)


def test_a_catch_up_posts_each_alert_once_in_its_newest_state() -> None:
    events = [_event("resolved", day=date(2026, 11, 20)), _event("new", day=date(2026, 11, 21))]
    context = build_context(DAY2, ZONE, events, FIXED)

    [[only]] = notifier("http://127.0.0.1:1").render(context)

    assert when(only["endsAt"]) > FIXED  # firing again


def test_alertmanager_accepts_the_hostile_samples(alertmanager: Alertmanager) -> None:
    server = f"hostile-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    context = sample_context(now, ZONE, hostile=True, server=server)

    notifier(alertmanager.url).send(context)

    held = alertmanager.alerts(server=server)
    firing = [a for a in latest(context["alerts"]) if a["state"] != "resolved"]
    assert len(held) == len(firing) > 10
    for alert in held:
        assert all(value.isprintable() for value in alert["labels"].values())
        assert all(value.isprintable() for value in alert["annotations"].values())


def test_a_test_message_is_one_marked_alert_that_ends_by_itself(
    alertmanager: Alertmanager, tmp_path: Path
) -> None:
    server_port = 40000 + uuid.uuid4().int % 20000
    am = {"type": "alertmanager", "url": alertmanager.url}
    raw = config_dict(f"http://127.0.0.1:{server_port}", tmp_path, notifiers={"am": am})
    raw["cbs"]["name"] = f"127.0.0.1:{server_port}"  # the label that keeps its alerts apart

    send_test(Config.model_validate(raw), "am", datetime.now(UTC))

    [alert] = alertmanager.alerts(server=f"127.0.0.1:{server_port}")
    assert alert["labels"]["alertname"] == "cbsalert_test" and alert["labels"]["test"] == "true"
    ends = when(alert["endsAt"]) - when(alert["startsAt"])
    assert ends == timedelta(minutes=5)


def test_ends_after_shorter_than_the_gap_between_runs_is_a_config_error() -> None:
    text = (
        "cbs: {url: 'http://127.0.0.1:1', sys_user: s, sys_password: p}\n"
        "schedule: '0 7 * * 1'\n"  # weekly
        "watch: [{login: a}]\nrules: [{id: r, kind: backup_status}]\n"
        "notifiers:\n  am: {type: alertmanager, url: 'http://am.example.com:9093'%s}\n"
    )
    with pytest.raises(ConfigError) as failure:
        parse_config(text % "", "cbsalert.yaml")

    [problem] = failure.value.problems
    assert problem.startswith("cbsalert.yaml:6: notifiers.am: ends_after (2d) must be longer")
    assert "(7d)" in problem and "ends_after: 14d" in problem
    assert parse_config(text % ", ends_after: 8d").notifiers["am"].type == "alertmanager"


def test_doctor_can_ask_alertmanager_whether_it_is_ready(alertmanager: Alertmanager) -> None:
    probe = notifier(alertmanager.url).probe()
    assert probe.tested and "ready" in probe.detail

    with pytest.raises(DeliveryError) as failure:
        notifier("http://cbsalert:Am-P4ssw0rd-x@127.0.0.1:1").probe()
    assert "Am-P4ssw0rd-x" not in str(failure.value) and "127.0.0.1" in str(failure.value)
