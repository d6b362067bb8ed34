"""Every notifier kind through what an operator runs: ``validate`` renders each kind's
messages from the hostile samples, ``test-notify`` sends a marked message through each of
the HTTP kinds (their loopback stand-ins, a real Alertmanager), and no secret of theirs
reaches a log line, an error, the JSON output or the database."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.config import Config, load_config
from cbsalert.devtools.pagerduty import incidents, pagerduty_sink
from cbsalert.devtools.receiver import JsonReceiver, webhook_receiver
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.teams import card_texts, teams_sink
from cbsalert.notify import NOTIFIER_KINDS
from cbsalert.notify.testmsg import validate_templates
from cbsalert.pipeline import run_once
from tests.alertmanager_process import Alertmanager
from tests.conftest import config_dict, write_config
from tests.fault_world import DAY1, DAY2, NOW1, NOW2, WORLD, fault_config
from tests.sqlite_file import dump

# The least settings of each kind: a new kind adds its row (the test below insists).
MINIMAL: dict[str, dict[str, Any]] = {
    "slack": {"webhook_url": "https://hooks.example.com/services/T/B/x"},
    "email": {"from": "cbsalert@example.com", "to": ["ops@example.com"]},
    "webhook": {"url": "https://hooks.example.com/cbsalert"},
    "pagerduty": {"routing_key": "R" * 32},
    "alertmanager": {"url": "http://alertmanager.example.com:9093"},
    "teams": {"webhook_url": "https://example.webhook.office.com/workflows/x"},
}
SECRETS = {
    "HOOK_URL_TOKEN": "t0k3n-In-Th3-H00k-P4th",
    "HOOK_SECRET": "Hm4c-Sh4red-S3cret-77",
    "HOOK_AUTH": "Bearer H00k-Auth-S3cret-88",
    "PD_KEY": "S3cr3tR0ut1ngK3yF0rPag3rDuty0042",
    "AM_PASSWORD": "Am-B4sic-P4ssw0rd-99",
    "TEAMS_SIG": "T3amsS1gnatur3-S3cret-11",
}


def test_every_kind_has_a_row_of_minimal_settings() -> None:
    assert set(MINIMAL) == set(NOTIFIER_KINDS)


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_validate_renders_every_kind_from_every_sample_hostile_ones_included(
    kind: str, tmp_path: Path
) -> None:
    notifiers = {"n": {"type": kind, **MINIMAL[kind]}}
    config = Config.model_validate(config_dict("http://127.0.0.1:1", tmp_path, notifiers=notifiers))

    assert validate_templates(config) == []


@pytest.fixture
def receivers() -> Iterator[dict[str, JsonReceiver]]:
    with ExitStack() as stack:
        yield {
            "hook": stack.enter_context(webhook_receiver(SECRETS["HOOK_SECRET"])),
            "pd": stack.enter_context(pagerduty_sink()),
            "teams": stack.enter_context(teams_sink()),
        }


def secret_notifiers(
    receivers: dict[str, JsonReceiver], alertmanager: Alertmanager, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """One notifier of each HTTP kind, every secret from the environment."""
    am = alertmanager.url.replace("http://", "http://cbsalert:${AM_PASSWORD}@")
    env = {
        **SECRETS,
        "HOOK_URL": f"{receivers['hook'].base_url}/hooks/{SECRETS['HOOK_URL_TOKEN']}",
        "TEAMS_URL": f"{receivers['teams'].base_url}/workflows/x?sig={SECRETS['TEAMS_SIG']}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {
        "hook": {"type": "webhook", "url": "${HOOK_URL}", "secret": "${HOOK_SECRET}",
                 "headers": {"Authorization": "${HOOK_AUTH}"}, "timeout_s": 2},
        "pd": {"type": "pagerduty", "routing_key": "${PD_KEY}",
               "base_url": receivers["pd"].base_url, "timeout_s": 2},
        "am": {"type": "alertmanager", "url": am, "timeout_s": 5},
        "teams": {"type": "teams", "webhook_url": "${TEAMS_URL}", "timeout_s": 2},
    }  # fmt: skip


def test_test_notify_sends_a_marked_message_through_every_http_kind(
    receivers: dict[str, JsonReceiver],
    alertmanager: Alertmanager,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server = f"cbs-{uuid.uuid4().hex[:8]}.example.com"
    notifiers = secret_notifiers(receivers, alertmanager, monkeypatch)
    path = write_config(
        tmp_path / "cbsalert.yaml",
        config_dict(f"https://{server}", tmp_path, notifiers=notifiers),
    )

    results = {
        name: CliRunner().invoke(app, ["test-notify", name, "-c", str(path)]) for name in notifiers
    }

    assert {name: r.exit_code for name, r in results.items()} == dict.fromkeys(notifiers, 0)
    [document] = receivers["hook"].accepted
    assert document["run"]["test"] is True and document["run"]["server"] == server
    trigger, _ = receivers["pd"].accepted
    assert trigger["payload"]["summary"].startswith("TEST") and incidents(receivers["pd"]) == {}
    [card] = receivers["teams"].accepted
    assert card_texts(card)[0].startswith("TEST")
    [alert] = alertmanager.alerts(server=server)
    assert alert["labels"]["alertname"] == "cbsalert_test"
    output = "".join(r.output for r in results.values())
    assert not [s for s in SECRETS.values() if s in output]


def test_no_secret_of_any_kind_reaches_logs_json_output_validate_or_the_database(
    make_sim: Callable[..., Simulator],
    receivers: dict[str, JsonReceiver],
    alertmanager: Alertmanager,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = make_sim(WORLD)
    raw = fault_config(sim.url, tmp_path)
    raw["notifiers"] = secret_notifiers(receivers, alertmanager, monkeypatch)
    raw["rules"][0]["notify"] = list(raw["notifiers"])
    path = write_config(tmp_path / "cbsalert.yaml", raw)
    caplog.set_level(logging.DEBUG)

    first = asyncio.run(run_once(load_config(path), day=DAY1, now=NOW1))
    receivers["hook"].fail_next(403)
    receivers["pd"].fail_next(400)
    receivers["teams"].fail_next(404)
    second = asyncio.run(run_once(load_config(path), day=DAY2, now=NOW2))
    validated = CliRunner().invoke(app, ["validate", "-c", str(path)])  # last: it sets up logging

    assert validated.exit_code == 0, validated.output
    assert (first.deliveries_sent, first.deliveries_failed) == (4, 0)
    assert second.deliveries_failed == 3 and "HTTP 404" in caplog.text
    everything = "\n".join([
        validated.output, caplog.text, json.dumps(first.to_json()),
        json.dumps(second.to_json()), dump(tmp_path / "state.db"),
    ])  # fmt: skip
    assert "DEBUG" in caplog.text
    assert [s for s in SECRETS.values() if s in everything] == []
