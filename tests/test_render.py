"""Templates: escaping, time formatting, the sample alerts, validate_templates and send_test."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cbsalert import labels, render, rules
from cbsalert.config import Config
from cbsalert.devtools.slack import SlackSink
from cbsalert.errors import ConfigError
from cbsalert.notify import slack_text, testmsg
from cbsalert.pipeline import default_day
from cbsalert.rules import RULE_KINDS

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(ZONE))


def make_config(notifiers: dict[str, Any]) -> Config:
    return Config.model_validate(
        {
            "cbs": {"url": "http://127.0.0.1:9", "sys_user": "system", "sys_password": "pw"},
            "timezone": ZONE,
            "watch": [{"login": "alice"}],
            "rules": [{"id": "backup-failed", "kind": "backup_status"}],
            "notifiers": notifiers,
        }
    )


EMAIL = {"type": "email", "from": "cbsalert@example.com", "to": ["oncall@example.com"]}
SLACK = {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/X"}


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b <c>", "a &amp; b &lt;c&gt;"),
        ("*bold* _it_ ~s~", "\u2217bold\u2217 \u02cdit\u02cd \u223cs\u223c"),
        ("`code`", "\u02cbcode\u02cb"),
        ("daily_backup_set 2*3", "daily_backup_set 2*3"),
        ("C:\\Users\\_old_\\x", "C:\\Users\\\u02cdold\u02cd\\x"),
        ("two\nlines\t here", "two lines here"),
        ("<!channel>", "&lt;!channel&gt;"),
    ],
)
def test_escape_mrkdwn_neutralises_slack_control_characters(raw: str, escaped: str) -> None:
    assert slack_text.escape_mrkdwn(raw) == escaped


def test_clipping_escaped_slack_text_never_leaves_half_an_entity() -> None:
    text = slack_text.escape_mrkdwn("a" * 8 + "&")  # "aaaaaaaa&amp;"

    assert slack_text.clip_mrkdwn(text, 11) == "aaaaaaaa…"
    assert slack_text.clip_mrkdwn("short", 11) == "short"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22T21:15:00+00:00", "2026-11-22 22:15 CET"),
        ("2026-07-01T21:15:00+00:00", "2026-07-01 23:15 CEST"),
        (None, ""),
    ],
)
def test_times_are_shown_in_the_config_zone_with_its_name(value: str | None, expected: str) -> None:
    assert labels.format_time(value, ZONE) == expected


def test_a_job_over_midnight_shows_both_dates() -> None:
    alert = {"start_time": "2026-11-22T23:30:00+01:00", "end_time": "2026-11-23T01:10:00+01:00"}

    assert labels.format_span(alert, ZONE) == "ran 2026-11-22 23:30 CET → 2026-11-23 01:10 CET"
    assert labels.format_span({**alert, "end_time": None}, ZONE) == (
        "started 2026-11-22 23:30 CET, no end time"
    )


def test_counts_name_severities_and_resolved() -> None:
    counts = {"critical": 3, "warning": 1, "info": 0, "resolved": 2}

    assert labels.counts_phrase(counts) == "3 critical, 1 warning, 2 resolved"
    assert labels.counts_phrase({"critical": 0, "warning": 0, "resolved": 0}) == "no alerts"


def test_every_rule_kind_has_a_hint_saying_what_to_do() -> None:
    assert set(RULE_KINDS) <= set(rules.KIND_HINTS)


def test_the_samples_cover_every_kind_state_and_null_fields() -> None:
    alerts = testmsg.sample_context(NOW, ZONE, hostile=True)["alerts"]

    assert set(RULE_KINDS) <= {a["kind"] for a in alerts}
    assert {"new", "repeat", "firing", "resolved"} <= {a["state"] for a in alerts}
    assert any(a["backup_set_id"] is None and a["job_id"] is None for a in alerts)
    assert any(a["start_time"] and a["end_time"] is None for a in alerts)
    assert any(len(a["owner"] or "") >= 10_000 for a in alerts)


def test_the_samples_speak_of_the_day_a_run_would_check_in_the_config_zone() -> None:
    late_evening_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # the 23rd in Amsterdam
    config = make_config({})
    expected = default_day(config, late_evening_utc)
    assert str(expected) == "2026-11-22"
    for hostile in (False, True):
        context = testmsg.sample_context(late_evening_utc, ZONE, hostile=hostile)
        assert context["run"]["date"] == str(expected)


def test_built_in_templates_validate_cleanly() -> None:
    config = make_config({"mail": EMAIL, "chat": SLACK})

    assert testmsg.validate_templates(config) == []


def test_validation_names_the_file_and_line_of_an_undefined_variable(tmp_path: Path) -> None:
    (tmp_path / "mail-body.txt.j2").write_text(
        "Hello\n{{ run.date }}\n{% for a in alerts %}{{ a.nope }}{% endfor %}\n"
    )
    (tmp_path / "mail-body.html.j2").write_text("<p>{{ run.date }}</p>")
    config = make_config({"mail": {**EMAIL, "template": str(tmp_path / "mail")}})

    [problem] = testmsg.validate_templates(config)

    assert problem.startswith(f"notifiers.mail: {tmp_path / 'mail-body.txt.j2'}:3:")
    assert "nope" in problem


def test_validation_names_the_file_of_a_syntax_error(tmp_path: Path) -> None:
    template = tmp_path / "alert.j2"
    template.write_text("{{ alert.login }}\n{% if alert.status %}unclosed\n")
    config = make_config({"chat": {**SLACK, "template": str(template)}})

    [problem] = testmsg.validate_templates(config)

    assert problem.startswith(f"notifiers.chat: {template}:")
    assert "syntax error" in problem


def test_validation_reports_a_missing_template_file(tmp_path: Path) -> None:
    config = make_config({"mail": {**EMAIL, "subject_template": str(tmp_path / "nope.j2")}})

    [problem] = testmsg.validate_templates(config)

    assert str(tmp_path / "nope.j2") in problem and "not found" in problem


def test_validation_catches_a_template_that_breaks_only_on_null_fields(tmp_path: Path) -> None:
    template = tmp_path / "alert.j2"
    template.write_text("{{ alert.login }} {{ alert.start_time[:10] }}")
    config = make_config({"chat": {**SLACK, "template": str(template)}})

    [problem] = testmsg.validate_templates(config)

    assert f"{template}:1:" in problem


def test_html_templates_autoescape_and_text_templates_do_not() -> None:
    html = render.environment(render.HTML).from_string("{{ x }}").render(x="<b>&")
    text = render.environment(render.TEXT).from_string("{{ x }}").render(x="<b>&")

    assert (html, text) == ("&lt;b&gt;&amp;", "<b>&")


def test_send_test_delivers_a_marked_message_through_the_named_notifier() -> None:
    with SlackSink() as sink:
        config = make_config({"chat": {"type": "slack", "webhook_url": sink.url}})

        testmsg.send_test(config, "chat", NOW)

        [payload] = sink.messages
    assert payload["text"].startswith("TEST · 🔴 5 critical")
    assert payload["blocks"][0]["text"]["text"].startswith("*TEST · 🔴 5 critical")
    [small] = [b["elements"][0]["text"] for b in payload["blocks"] if b["type"] == "context"]
    assert "nothing needs doing" in small


def test_send_test_refuses_an_unknown_notifier_by_name() -> None:
    config = make_config({"chat": SLACK})

    with pytest.raises(ConfigError, match="no notifier named 'mail'"):
        testmsg.send_test(config, "mail", NOW)
