"""What a run says about alerts over several days on the simulator: severity changes,
silenced episodes, what the JSON lists, and the expected sets of servers without
ListBackupSets (issue 15.3, 15.5-15.8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.metrics import Metrics
from cbsalert.state import open_store
from tests.conftest import config_dict
from tests.test_days import check, day, nightly, states

WARN, FAIL, OK = "BS_STOP_SUCCESS_WITH_WARNING", "BS_STOP_BY_SYSTEM_ERROR", "BS_STOP_SUCCESS"


def config_for(sim: Simulator, slack: SlackSink, tmp_path: Path, *rules: dict[str, Any]) -> Config:
    """One Slack notifier that every rule notifies; a failed-backup rule unless given."""
    rules = rules or ({"id": "failed", "kind": "backup_status"},)
    raw = config_dict(
        sim.url, tmp_path, rules=[{"notify": ["ops"], **r} for r in rules],
        notifiers={"ops": {"type": "slack", "webhook_url": slack.url}},
    )  # fmt: skip
    return Config.model_validate(raw)


def stored(config: Config) -> list[dict[str, Any]]:
    store = open_store(config.state, auto_upgrade=True)
    try:
        return store.list_alerts(include_resolved=True)
    finally:
        store.close()


def json_alerts(result: Any) -> list[tuple[str, str, str]]:
    """(state, severity, date) of each alert in ``check --format json``."""
    return [(a["state"], a["severity"], a["date"]) for a in result.to_json()["alerts"]]


# -- 15.3: a change of severity ---------------------------------------------------------------


def test_a_warning_that_becomes_a_failure_is_announced_as_got_worse(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly([WARN, FAIL, FAIL]))
    config = config_for(sim, slack, tmp_path)
    first, worse, same = (check(config, day(i)) for i in range(3))
    assert json_alerts(first) == [("new", "warning", str(day(0)))]
    assert json_alerts(worse) == [("escalated", "critical", str(day(1)))]
    assert worse.to_json()["alerts"][0]["previous_severity"] == "warning"
    assert json_alerts(same) == [("firing", "critical", str(day(2)))]
    assert states(slack) == ["new", "got worse: was warning"]
    assert [a["severity"] for a in stored(config)] == ["critical"]


def test_a_failure_that_eases_to_a_warning_is_recorded_and_shown_in_the_next_reminder(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly([FAIL, WARN, WARN, FAIL]))
    config = config_for(sim, slack, tmp_path, {"id": "failed", "kind": "backup_status",
                                               "repeat_interval": "48h"})  # fmt: skip
    results = [check(config, day(i)) for i in range(4)]
    assert [json_alerts(r)[0][:2] for r in results] == [
        ("new", "critical"), ("firing", "warning"), ("repeat", "warning"),
        ("escalated", "critical"),
    ]  # fmt: skip
    assert results[2].to_json()["alerts"][0]["previous_severity"] == "critical"
    # The reminder told people "warning", so failing again is worse than what they heard.
    assert states(slack) == ["new", "still failing, was critical", "got worse: was warning"]


def test_flapping_between_warning_and_failure_is_not_announced_each_time(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly([FAIL, WARN, FAIL, WARN, FAIL]))
    config = config_for(sim, slack, tmp_path)
    for i in range(5):
        check(config, day(i))
    assert states(slack) == ["new"]  # people heard "critical" and it never got worse than that


# -- 15.5: the JSON lists what is firing ------------------------------------------------------


def test_json_lists_firing_alerts_without_evidence_that_day_with_their_evidence_date(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    world = nightly([FAIL])  # nothing at all on later days
    world["users"][0]["restores"] = [{"set": "1", "start": f"{day(0)} 10:00:00",
                                      "end": f"{day(0)} 10:05:00",
                                      "status": "RESTORE_STOP_BY_ERROR"}]  # fmt: skip
    sim = make_sim(world)
    restores = {"id": "restore", "kind": "restore_status", "severity": "warning"}
    config = config_for(sim, slack, tmp_path, {"id": "failed", "kind": "backup_status"}, restores)
    check(config, day(0))
    quiet = check(config, day(1))
    doc = quiet.to_json()
    assert sorted((a["rule"], a["state"], a["date"]) for a in doc["alerts"]) == [
        ("failed", "firing", str(day(0))), ("restore", "firing", str(day(0))),
    ]  # fmt: skip
    restore = next(a for a in doc["alerts"] if a["rule"] == "restore")
    assert restore["severity"] == "warning" and restore["backup_set_name"] == "Docs"
    assert quiet.deliveries_sent == 0 and len(slack.messages) == 1
    text = Metrics()
    text.observe(quiet, 0.0)
    assert 'cbsalert_alerts{severity="critical",state="firing"} 1.0' in text.render().decode()


# -- 15.6: a silenced episode -----------------------------------------------------------------


def test_an_episode_that_began_silenced_is_new_once_and_marked_when_announced(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly([FAIL] * 4))
    config = config_for(sim, slack, tmp_path)
    store = open_store(config.state, auto_upgrade=True)
    until = datetime.combine(day(2), datetime.min.time(), UTC) + timedelta(hours=12)
    store.silences.add("failed", "obm", None, until=until, reason="laptop in repair",
                      created_by="test")  # fmt: skip
    store.close()
    docs = [check(config, day(i)).to_json()["alerts"] for i in range(4)]
    assert [[(a["state"], a["silenced"]) for a in alerts] for alerts in docs] == [
        [("new", True)], [("firing", True)], [("unsilenced", False)], [("firing", False)],
    ]  # fmt: skip
    assert states(slack) == ["silence ended"]


# -- 15.7: a resolved alert keeps its severity ------------------------------------------------


def test_a_warning_alert_resolves_as_a_warning_everywhere(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly([WARN, OK, OK]))
    config = config_for(sim, slack, tmp_path)
    check(config, day(0))
    fixed = check(config, day(1))
    assert json_alerts(fixed) == [("resolved", "warning", str(day(1)))]
    assert [(a["state"], a["severity"]) for a in stored(config)] == [("resolved", "warning")]
    metrics = Metrics()
    metrics.observe(fixed, 0.0)
    body = metrics.render().decode()
    assert 'cbsalert_alerts{severity="warning",state="resolved"} 1.0' in body
    assert 'cbsalert_alerts{severity="critical",state="resolved"} 0.0' in body
    check(config, day(2))  # more good news about a resolved alert changes no severity
    assert [a["severity"] for a in stored(config)] == ["warning"]


# -- 15.8: expected sets on a server without ListBackupSets -----------------------------------


def _manual_then_scheduled(version: str) -> dict[str, Any]:
    jobs = [
        {"set": "1", "start": f"{day(0)} 14:00:00", "end": f"{day(0)} 14:10:00", "mode": "M"},
        {"set": "1", "start": f"{day(1)} 22:00:00", "end": f"{day(1)} 22:10:00"},
    ]
    user = {"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"}], "jobs": jobs}
    return {"version": version, "users": [user]}


def test_a_set_seen_only_in_a_manual_job_is_expected_on_an_old_server_as_on_a_new_one(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    seen: dict[str, list[tuple[str, str | None, str]]] = {}
    for version in ("9.5.0.0", "10.1.0.0"):
        sim = make_sim(_manual_then_scheduled(version))
        folder = tmp_path / version
        folder.mkdir()
        config = config_for(sim, slack, folder, {"id": "missing", "kind": "missing_backup"})
        seen[version] = [
            (e.state, e.finding.backup_set_id, e.finding.key)
            for i in range(2)
            for e in check(config, day(i)).reported
        ]
    assert seen["9.5.0.0"] == seen["10.1.0.0"] == [
        ("new", "1", "missing|obm|1|"), ("resolved", "1", "missing|obm|1|"),
    ]  # fmt: skip
