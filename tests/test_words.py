"""Words, not codes (issue 17.7), end to end: the simulated CBS's failed, quota-exceeded,
missed and unknown-status jobs go through a real run to the Slack stand-in and a real SMTP
server, and what people get says severities, statuses, modes and destinations in words."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.pipeline import RunResult, run_once
from cbsalert.rules.jobs import JOB_STATUS_HINTS
from tests.conftest import config_dict
from tests.test_carryover import change, morning, slack_text
from tests.test_carryover import job as carry_job
from tests.test_carryover import make_config as carry_config
from tests.test_carryover import world as carry_world
from tests.test_days import day

DAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
OFFSITE = "17000000000000042"  # a 17-digit destination id, as the CBS makes them
QUOTA = "BS_STOP_BY_QUOTA_EXCEEDED"

WORLD: dict[str, Any] = {
    "users": [
        {   # stopped by a full quota, on a destination with a name; no error logged
            "login": "acme-fs",
            "backup_sets": [{"id": "11", "name": "File server D:",
                             "destinations": [{"id": OFFSITE, "name": "Offsite S3"}]}],
            "jobs": [{"set": "11", "start": "D-1 22:00:00", "end": "D-1 22:30:00",
                      "status": QUOTA}],
        },
        {   # failed on a destination the CBS gave no name
            "login": "dental",
            "backup_sets": [{"id": "21", "name": "Patients (daily)",
                             "destinations": [{"id": "17000000000000099", "name": ""}]}],
            "jobs": [{"set": "21", "start": "D-1 20:00:00", "end": "D-1 20:10:00",
                      "status": "BS_STOP_BY_SYSTEM_ERROR"}],
        },
        {   # the Exchange set ran only by hand
            "login": "lawfirm",
            "backup_sets": [{"id": "31", "name": "Documents"}, {"id": "32", "name": "Exchange"}],
            "jobs": [{"set": "31", "start": "D-1 21:00:00", "end": "D-1 21:09:00"},
                     {"set": "32", "start": "D-1 14:10:00", "end": "D-1 14:22:00", "mode": "M"}],
        },
        {   # a status of a newer CBS
            "login": "future",
            "backup_sets": [{"id": "41", "name": "Docs"}],
            "jobs": [{"set": "41", "start": "D-1 19:00:00", "end": "D-1 19:30:00",
                      "status": "BS_NEW_IN_V11", "errors": 3}],
        },
    ]
}  # fmt: skip

TO = {"notify": ["ops", "mail"]}
RULES = [
    {"id": "failed", "kind": "backup_status", **TO},
    {"id": "errors", "kind": "error_count", "severity": "warning", **TO},
    {"id": "missing", "kind": "missing_backup", **TO},
]


def run(sim: Simulator, slack: SlackSink, smtp: SmtpSink, tmp_path: Path) -> RunResult:
    mail = {"type": "email", "smtp_host": smtp.host, "smtp_port": smtp.port,
            "from": "cbsalert@example.com", "to": ["ops@example.com"]}  # fmt: skip
    raw = config_dict(
        sim.url, tmp_path, watch=[{"login": u.login} for u in sim.data.users], rules=RULES,
        notifiers={"ops": {"type": "slack", "webhook_url": slack.url}, "mail": mail},
    )  # fmt: skip
    return asyncio.run(run_once(Config.model_validate(raw), day=DAY, now=NOW))


@pytest.fixture
def messages(
    make_sim: Callable[..., Simulator], slack: SlackSink, smtp: SmtpSink, tmp_path: Path
) -> dict[str, Any]:
    """The run's messages as people read them: Slack's entries, the email's parts."""
    result = run(make_sim(WORLD), slack, smtp, tmp_path)
    assert result.exit_code == 0
    [payload] = slack.messages
    [mail] = smtp.messages
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and html is not None
    # The entries: the sections after the head (headline, summary, small print, a divider).
    entries = payload["blocks"][payload["blocks"].index({"type": "divider"}) + 1 :]
    return {
        "result": result,
        "slack": [b["text"]["text"] for b in entries if b["type"] == "section"],
        "text": plain.get_content(),
        "html": html.get_content(),
        "subject": str(mail["Subject"]),
    }


def _entry(sections: list[str], login: str) -> str:
    return next(s for s in sections if f"*{login}*" in s)


BADGES = ("\U0001f534", "\U0001f7e0", "\U0001f535", "\u2705", "-- ")


def _paragraph(text: str, login: str) -> str:
    """The text email's entry about ``login``: from its head line (``🔴 Critical · new —
    login``) to the next entry's."""
    lines = text.split("\r\n")
    start = next(i for i, line in enumerate(lines) if line.endswith(f"— {login}"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(BADGES)), len(lines))
    return "\r\n".join(lines[start:end])


def test_every_severity_a_person_reads_is_a_word_with_an_emoji(messages: dict[str, Any]) -> None:
    for text in (messages["text"], "\n".join(messages["slack"])):
        heads = [line for line in text.splitlines() if " · new — " in line]
        assert heads and all(
            h.startswith(("\U0001f534 Critical · ", "\U0001f7e0 Warning · ")) for h in heads
        )
    assert len(messages["slack"]) == 4  # each entry has its alerts' badges
    assert all("\U0001f534 Critical · " in entry for entry in messages["slack"])
    assert messages["html"].count("\U0001f534 Critical · ") == 4
    assert "CRITICAL" not in messages["text"] + messages["html"]


def test_a_status_is_said_in_words_with_its_constant_once(messages: dict[str, Any]) -> None:
    said = "stopped by a system error (BS_STOP_BY_SYSTEM_ERROR)"
    slack, text = _entry(messages["slack"], "dental"), _paragraph(messages["text"], "dental")
    for entry in (slack, text):
        assert said in entry and entry.count("BS_STOP_BY_SYSTEM_ERROR") == 1
    assert f"\r\n  - Backup of 'Patients (daily)' {said}.\r\n" in text  # a line of its own
    # In HTML the constant is small, after the words.
    assert re.search(
        r"system error \(<code style=\"font-size:11px[^>]*>BS_STOP_BY_SYSTEM_ERROR<",
        messages["html"],
    )


def test_an_unknown_status_is_shown_as_itself_and_counts_as_a_failure(
    messages: dict[str, Any],
) -> None:
    [finding] = [
        e.finding for e in messages["result"].reported
        if e.finding.login == "future" and e.finding.rule == "failed"
    ]  # fmt: skip
    assert (finding.firing, finding.severity) == (True, "critical")
    assert finding.summary == "Backup of 'Docs' failed with status BS_NEW_IN_V11."
    assert "succeeded" not in _entry(messages["slack"], "future")


def test_a_missed_scheduled_backup_is_said_in_words_not_mode_letters(
    messages: dict[str, Any],
) -> None:
    said = "Scheduled backup of 'Exchange' did not run on 2026-11-22."
    assert said in _entry(messages["slack"], "lawfirm")
    assert said in messages["text"] and "No S " not in messages["text"]


def test_counts_are_shown_only_when_they_say_something(messages: dict[str, Any]) -> None:
    everything = "\n".join([*messages["slack"], messages["text"], messages["html"]])
    assert not re.search(r"\b0 (errors|warnings)\b", everything)  # failed jobs logged none
    assert "more than 0" not in everything
    # The error_count alert says "logged 3 errors" once; the facts of its job (shown with
    # the failed alert about the same job, in the same entry) do not repeat it.
    errors = next(s for s in messages["slack"] if "logged 3 errors" in s)
    assert errors.count("3 errors") == 1 and "failed with status BS_NEW_IN_V11" in errors


def test_the_destination_is_named_and_a_bare_id_is_said_to_be_one(
    messages: dict[str, Any],
) -> None:
    quota = _entry(messages["slack"], "acme-fs")
    assert "destination Offsite S3" in quota and OFFSITE not in quota
    assert "destination Offsite S3" in _paragraph(messages["text"], "acme-fs")
    assert "destination id 17000000000000099" in _entry(messages["slack"], "dental")
    [finding] = [e.finding for e in messages["result"].reported if e.finding.login == "acme-fs"]
    assert (finding.destination_id, finding.destination_name) == (OFFSITE, "Offsite S3")


def test_a_job_id_is_left_out_when_the_start_time_says_it(messages: dict[str, Any]) -> None:
    # Every job here has a start time, and no set has two jobs that started the same minute.
    everything = "\n".join([*messages["slack"], messages["text"], messages["html"]])
    assert "2026-11-22-22-00-00" not in everything and "job 2026" not in everything.lower()


def test_quota_exceeded_gets_its_own_hint(messages: dict[str, Any]) -> None:
    hint = JOB_STATUS_HINTS[QUOTA]
    assert "raise the user's quota" in hint
    slack_hint = hint.replace("'", "'")
    assert slack_hint in _entry(messages["slack"], "acme-fs")
    assert hint in _paragraph(messages["text"], "acme-fs")
    assert "stopped: the user's storage quota is exceeded (BS_STOP_BY_QUOTA_EXCEEDED)" in (
        _paragraph(messages["text"], "acme-fs")
    )
    # The other failures keep their kind's hint.
    assert hint not in _paragraph(messages["text"], "dental")


def test_no_message_has_doubled_brackets(messages: dict[str, Any]) -> None:
    everything = "\n".join([*messages["slack"], messages["text"], messages["subject"]])
    assert "Patients (daily)" in everything  # a name in brackets, followed by more
    for doubled in ("((", "))", ") )", "( (", ") ("):
        assert doubled not in everything


def test_a_job_judged_at_a_later_check_names_its_destination_too(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    # The simulator's destinations are named "AhsayCBS" unless a world says otherwise.
    sim = make_sim(carry_world(carry_job(0)))
    config = carry_config(sim, slack, tmp_path)
    assert morning(config, 0).reported == []  # still running at its day's check
    change(sim, carry_world(carry_job(0, end=f"{day(1)} 08:00:00")))
    [event] = morning(config, 1).reported
    assert event.finding.destination_name == "AhsayCBS"
    assert "destination AhsayCBS" in slack_text(slack)
