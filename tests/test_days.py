"""Several days in a row on the simulator: what people hear, and when they hear nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.pipeline import RunResult, run_once
from cbsalert.state import open_store
from tests.conftest import config_dict

FIRST = date(2026, 11, 16)


def nightly(statuses: list[str]) -> dict[str, Any]:
    """A world where set 1 of obm ran once a night from FIRST on, with these statuses."""
    jobs = [
        {
            "set": "1",
            "start": f"{FIRST + timedelta(days=i)} 22:00:00",
            "end": f"{FIRST + timedelta(days=i)} 22:20:00",
            "status": status,
        }
        for i, status in enumerate(statuses)
    ]
    return {"users": [{"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"}], "jobs": jobs}]}


def make_config(sim: Simulator, slack: SlackSink, tmp_path: Path, **rule: Any) -> Config:
    rules = [{"id": "failed", "kind": "backup_status", "notify": ["ops"], **rule}]
    raw = config_dict(sim.url, tmp_path, rules=rules,
                      notifiers={"ops": {"type": "slack", "webhook_url": slack.url}})  # fmt: skip
    return Config.model_validate(raw)


def check(config: Config, day: date, *, hours_after: float = 9, dry_run: bool = False) -> RunResult:
    """Check ``day`` the next morning (``hours_after`` midnight UTC)."""
    now = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1, hours=hours_after)
    return asyncio.run(run_once(config, day=day, now=now, dry_run=dry_run))


def states(slack: SlackSink) -> list[str]:
    """The state words of every Slack alert section about set Docs, in order."""
    out = []
    for message in slack.messages:
        for block in message["blocks"]:
            text = (block.get("text") or {}).get("text", "")
            if block["type"] == "section" and "Docs" in text:
                out.append(text.split("—")[-1].split("\n")[0].strip())
    return out


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


def test_a_set_failing_three_nights_running_is_announced_once_then_resolved(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly(["BS_STOP_BY_SYSTEM_ERROR"] * 3 + ["BS_STOP_SUCCESS"]))
    config = make_config(sim, slack, tmp_path)
    results = [check(config, day(i)) for i in range(3)]
    assert [[e.state for e in r.reported] for r in results] == [["new"], ["firing"], ["firing"]]
    assert len(slack.messages) == 1
    assert results[2].reported[0].days_failing == 3

    fixed = check(config, day(3))
    assert [e.state for e in fixed.reported] == ["resolved"]
    assert len(slack.messages) == 2
    assert "resolved" in states(slack)[-1].lower()


def test_a_reminder_goes_out_when_repeat_interval_passes_and_says_for_how_long(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly(["BS_STOP_BY_SYSTEM_ERROR"] * 4))
    config = make_config(sim, slack, tmp_path, repeat_interval="48h")
    kinds = [[e.state for e in check(config, day(i)).reported] for i in range(4)]
    assert kinds == [["new"], ["firing"], ["repeat"], ["firing"]]
    assert len(slack.messages) == 2
    assert states(slack) == ["new", "still failing"]
    assert "(3 days)" in str(slack.messages[1])


def test_rerunning_the_same_day_says_nothing_and_changes_nothing(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly(["BS_STOP_BY_SYSTEM_ERROR", "BS_STOP_SUCCESS"]))
    config = make_config(sim, slack, tmp_path)
    check(config, day(0))
    check(config, day(1))
    assert len(slack.messages) == 2
    again = check(config, day(1), hours_after=12)
    assert again.reported == [] and again.deliveries_sent == 0
    assert len(slack.messages) == 2


def test_a_backfill_of_an_older_day_neither_refires_nor_resolves(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly(["BS_STOP_SUCCESS", "BS_STOP_BY_SYSTEM_ERROR", "BS_STOP_SUCCESS",
                            "BS_STOP_BY_SYSTEM_ERROR"]))  # fmt: skip
    config = make_config(sim, slack, tmp_path)
    check(config, day(1))  # fails: new
    check(config, day(2))  # fine: resolved
    check(config, day(3))  # fails again: new
    sent = len(slack.messages)
    assert sent == 3
    backfill_good = check(config, day(0), hours_after=24 * 5)
    backfill_bad = check(config, day(1), hours_after=24 * 5)
    assert len(slack.messages) == sent
    assert backfill_good.deliveries_sent == backfill_bad.deliveries_sent == 0
    with _store(config) as store:
        [alert] = store.list_alerts()
    assert alert["state"] == "firing" and alert["last_seen"].startswith(str(day(3)))


def test_a_silenced_alert_is_tracked_but_sends_nothing_until_the_silence_ends(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly(["BS_STOP_BY_SYSTEM_ERROR"] * 3))
    config = make_config(sim, slack, tmp_path)
    with _store(config) as store:
        store.silences.add(
            "failed", "obm", None, until=datetime(2026, 11, 18, 12, tzinfo=UTC),
            reason="client laptop in repair", created_by="test",
        )  # fmt: skip
    first = check(config, day(0))
    assert [(e.state, e.silenced) for e in first.reported] == [("new", True)]
    assert slack.messages == []
    with _store(config) as store:
        assert [a["state"] for a in store.list_alerts()] == ["firing"]
    check(config, day(1))  # 2026-11-18 09:00: still silenced
    assert slack.messages == []
    after = check(config, day(2))  # 2026-11-19: the silence is over, people hear of it once
    assert [e.state for e in after.reported] == ["unsilenced"]
    assert len(slack.messages) == 1


def test_dry_run_shows_what_would_happen_and_writes_nothing(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly(["BS_STOP_BY_SYSTEM_ERROR", "BS_STOP_SUCCESS"]))
    config = make_config(sim, slack, tmp_path)
    preview = check(config, day(0), dry_run=True)
    assert [e.state for e in preview.reported] == ["new"]
    assert not (tmp_path / "state.db").exists()
    check(config, day(0))
    before = (tmp_path / "state.db").read_bytes()
    resolved = check(config, day(1), dry_run=True)
    assert [e.state for e in resolved.reported] == ["resolved"]
    assert (tmp_path / "state.db").read_bytes() == before
    assert len(slack.messages) == 1


def test_a_day_without_evidence_about_a_set_changes_nothing(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim(nightly(["BS_STOP_BY_SYSTEM_ERROR"]))  # nothing at all on later days
    config = make_config(sim, slack, tmp_path)
    check(config, day(0))
    quiet = check(config, day(1))
    assert [(e.state, e.finding.day, e.notify) for e in quiet.reported] == [("firing", day(0), ())]
    with _store(config) as store:
        assert [a["state"] for a in store.list_alerts()] == ["firing"]


class _store:
    def __init__(self, config: Config) -> None:
        self.store = open_store(config.state, auto_upgrade=True)

    def __enter__(self) -> Any:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()
