"""The webhook notifier against a loopback receiver that checks its signature as a
receiver should (cbsalert.devtools.receiver)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cbsalert.config import Config, parse_config
from cbsalert.devtools.receiver import JsonReceiver, webhook_receiver
from cbsalert.errors import ConfigError, DeliveryError
from cbsalert.notify.kinds import WebhookConfig
from cbsalert.notify.testmsg import check_templates, sample_context
from cbsalert.notify.webhook import SIGNATURE_HEADER
from cbsalert.pipeline import run_once
from tests.conftest import config_dict
from tests.fault_world import DAY2, NOW2
from tests.hostile import HostileCbs

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))
SECRET = "Hm4c-Sh4red-S3cret-41x"
TOKEN = "Bearer W3bh00k-T0ken-9zq"
PATH = "/hooks/cbsalert/t0k3nInTh3P4th"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def receiver() -> Iterator[JsonReceiver]:
    with webhook_receiver(SECRET) as server:
        yield server


def webhook(receiver: JsonReceiver, **extra: Any) -> Any:
    settings = {"url": receiver.base_url + PATH, "secret": SECRET, "timeout_s": 2, **extra}
    return WebhookConfig.model_validate(settings).create("hook")


def test_the_document_holds_the_run_and_every_alert_as_check_json_has_them(
    receiver: JsonReceiver,
) -> None:
    context = sample_context(NOW, ZONE)

    webhook(receiver).send(context)

    [document] = receiver.accepted
    assert document["version"] == 1 and document["notifier"] == "hook"
    assert document["run"] == context["run"]
    assert document["run"]["server"] == "backup.example.com"  # the samples' server
    assert document["alerts"] == context["alerts"]
    assert {"new", "repeat", "resolved"} <= {a["state"] for a in document["alerts"]}
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/json"


def test_the_signature_is_the_hmac_of_the_exact_body_under_the_secret(
    receiver: JsonReceiver,
) -> None:
    webhook(receiver).send(sample_context(NOW, ZONE))

    [request] = receiver.requests
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
    assert request.ok


def test_a_receiver_refusing_the_signature_is_a_permanent_failure_naming_no_secret(
    receiver: JsonReceiver,
) -> None:
    with pytest.raises(DeliveryError) as failure:
        webhook(receiver, secret="not-the-receivers-secret").send(sample_context(NOW, ZONE))

    assert failure.value.permanent
    assert "HTTP 401" in str(failure.value)
    assert "t0k3nInTh3P4th" not in str(failure.value) and "not-the-receivers" not in str(
        failure.value
    )


def test_without_a_secret_no_signature_is_sent() -> None:
    with webhook_receiver() as receiver:
        webhook(receiver, secret=None).send(sample_context(NOW, ZONE))

    [request] = receiver.requests
    assert SIGNATURE_HEADER.lower() not in request.headers and request.ok


def test_extra_headers_come_from_the_environment_and_stay_secret(
    receiver: JsonReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CBSALERT_HOOK_TOKEN", TOKEN)
    config = parse_config(
        "cbs: {url: 'http://127.0.0.1:1', sys_user: s, sys_password: p}\n"
        "watch: [{login: a}]\nrules: [{id: r, kind: backup_status}]\n"
        "notifiers:\n  hook:\n    type: webhook\n"
        f"    url: {receiver.base_url}{PATH}\n    secret: {SECRET}\n"
        "    headers: {Authorization: '${CBSALERT_HOOK_TOKEN}', X-Team: backups}\n"
    )

    config.notifiers["hook"].create("hook").send(sample_context(NOW, ZONE))

    [request] = receiver.requests
    assert request.headers["authorization"] == TOKEN and request.headers["x-team"] == "backups"
    assert TOKEN in config.secrets() and SECRET in config.secrets()
    assert any(PATH in secret for secret in config.secrets())


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"url": "ftp://example.com/t0k3nInTh3P4th"}, "url: must start with http"),
        ({"headers": {"Bad Name": "x"}}, "'Bad Name' is not a header name"),
        ({"headers": {"X-Token": "abc\r\nX-Forged: 1"}}, "not one line of text"),
        ({"template": "body.j2"}, "takes no `template`"),
    ],
)
def test_settings_that_cannot_work_are_config_errors_that_show_no_secret(
    settings: dict[str, Any], problem: str, tmp_path: Path
) -> None:
    hook = {"type": "webhook", "url": "https://example.com/t0k3nInTh3P4th", **settings}
    raw = config_dict("http://127.0.0.1:1", tmp_path, notifiers={"hook": hook})

    with pytest.raises(ConfigError) as failure:
        parse_config(json.dumps(raw), "cbsalert.yaml")

    [line] = failure.value.problems
    assert problem in line and line.startswith("cbsalert.yaml:1: notifiers.hook")
    assert "t0k3nInTh3P4th" not in line and "abc" not in line


# -- body templates -------------------------------------------------------------------------

TEMPLATE = (
    '{"text": {{ "cbsalert: " ~ (run.counts|counts) }}, "server": {{ run.server }},\n'
    ' "items": [{% for a in alerts %}{"who": {{ a.login }}, "set": {{ a|setlabel }},'
    ' "what": {{ a.summary }}, "errors": {{ a.errors }}}{% if not loop.last %},{% endif %}'
    "{% endfor %}]}\n"
)
EVIL_LOGIN = 'ann"}, "x": 1, "y": {"\\'
EVIL_SET = 'Docs\x00\x1b[2J\u202etxt.exe "},{"forged": true} \\u0022 </script>'


def test_a_body_template_gets_every_value_json_escaped_even_from_a_hostile_cbs(
    hostile: Callable[..., HostileCbs], receiver: JsonReceiver, tmp_path: Path
) -> None:
    cbs = hostile({"users": [{
        "login": EVIL_LOGIN, "backup_sets": [{"id": "1", "name": EVIL_SET}],
        "jobs": [{"set": "1", "start": "D-1 20:00:00", "end": "D-1 20:30:00",
                  "status": "BS_STOP_BY_SYSTEM_ERROR"}],
    }]})  # fmt: skip
    (tmp_path / "body.json.j2").write_text(TEMPLATE)
    hook = {"type": "webhook", "url": receiver.base_url + PATH, "secret": SECRET,
            "body_template": str(tmp_path / "body.json.j2"), "timeout_s": 2}  # fmt: skip
    raw = config_dict(
        cbs.url, tmp_path, watch=[{"login": EVIL_LOGIN}], notifiers={"hook": hook},
        rules=[{"id": "backup-failed", "kind": "backup_status", "notify": ["hook"]}],
    )  # fmt: skip

    result = asyncio.run(run_once(Config.model_validate(raw), day=DAY2, now=NOW2))

    assert (result.deliveries_sent, result.deliveries_failed) == (1, 0)
    [document] = receiver.accepted
    assert set(document) == {"text", "server", "items"}
    [item] = document["items"]
    assert set(item) == {"who", "set", "what", "errors"}  # nothing forged in between
    assert item["who"] == EVIL_LOGIN
    assert item["set"].startswith("Docs") and '{"forged": true}' in item["set"]
    assert not UNSAFE.search(json.dumps(document, ensure_ascii=False))
    assert document["server"] == "127.0.0.1"  # cbs.name: the host of cbs.url


def test_the_hostile_samples_render_valid_json_through_a_body_template(tmp_path: Path) -> None:
    (tmp_path / "body.json.j2").write_text(TEMPLATE)
    notifier = WebhookConfig.model_validate(
        {"url": "https://example.com/h", "body_template": str(tmp_path / "body.json.j2")}
    ).create("hook")

    body = notifier.render(sample_context(NOW, ZONE, hostile=True))

    document = json.loads(body)
    assert len(document["items"]) == len(sample_context(NOW, ZONE, hostile=True)["alerts"])
    assert all(set(item) == {"who", "set", "what", "errors"} for item in document["items"])


def test_a_template_that_does_not_make_json_fails_validate_naming_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "body.json.j2").write_text('{"who": "{{ alerts[0].login }}"}')
    raw = config_dict("http://127.0.0.1:1", tmp_path, notifiers={"hook": {
        "type": "webhook", "url": "https://example.com/h",
        "body_template": str(tmp_path / "body.json.j2")}})  # fmt: skip

    with pytest.raises(ConfigError) as failure:
        check_templates(Config.model_validate(raw))

    [problem, *_] = failure.value.problems
    assert "body.json.j2: does not render JSON" in problem and "without quotes" in problem


def test_a_server_error_is_retried_and_a_bad_request_is_permanent(
    receiver: JsonReceiver,
) -> None:
    receiver.fail_next(503)
    webhook(receiver).send(sample_context(NOW, ZONE))
    assert [r.status for r in receiver.requests] == [503, 200]

    receiver.fail_next(400)
    with pytest.raises(DeliveryError) as failure:
        webhook(receiver).send(sample_context(NOW, ZONE))
    assert failure.value.permanent


def test_doctor_is_told_that_a_webhook_cannot_be_checked_without_sending() -> None:
    probe = WebhookConfig.model_validate({"url": "https://example.com/h"}).create("hook").probe()

    assert not probe.tested and "test-notify hook" in probe.detail
