"""The command line: what people type, what they see, and the exit codes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from tests.conftest import config_dict, write_config

ROOT = Path(__file__).parent.parent
FAILING = {
    "users": [
        {
            "login": "obm",
            "backup_sets": [{"id": "1", "name": "Docs"}],
            "jobs": [{"set": "1", "start": "2026-11-22 22:00:00", "end": "2026-11-22 22:10:00",
                      "status": "BS_STOP_BY_SYSTEM_ERROR"}],
        }
    ]
}  # fmt: skip


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_explains_the_commands_and_exit_codes() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for word in ("check", "validate", "alerts", "silence", "demo", "test-notify", "Exit codes"):
        assert word in out
    code, out, _ = invoke("check", "--help")
    assert code == 0 and "--dry-run" in out and "--date" in out


def test_version_prints_the_package_version() -> None:
    from cbsalert import __version__

    assert invoke("--version")[1].strip() == f"cbsalert {__version__}"


def test_the_example_config_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBSALERT_SYS_PASSWORD", "Sys-S3cret-pw!")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T1/B1/x")
    code, out, err = invoke("validate", "-c", str(ROOT / "rules.example.yaml"))
    assert code == 0, err
    assert "OK" in out and "9 rules" in out


def test_validate_reports_every_problem_with_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "cbs:\n  url: http://x\n  sys_user: s\n  sys_password: ${NOT_SET_ANYWHERE}\n"
        "watch:\n  - login: a\n    rulez: []\nrules:\n  - id: r\n    kind: backup_status\n"
        "    threshold: 3\n"
    )
    code, _, err = invoke("validate", "-c", str(path))
    assert code == 2
    assert f"{path}:4: cbs.sys_password: environment variable NOT_SET_ANYWHERE" in err
    assert f"{path}:7: watch[0].rulez: unknown key 'rulez'" in err
    assert f"{path}:11: rules[0].threshold: unknown key 'threshold'" in err


def test_validate_catches_a_broken_user_template(tmp_path: Path) -> None:
    template = tmp_path / "slack.mrkdwn.j2"
    template.write_text("{{ alert.login }} {{ alert.no_such_field.deeper }}")
    raw = config_dict("http://127.0.0.1:9", tmp_path)
    raw["notifiers"] = {
        "ops": {"type": "slack", "webhook_url": "http://127.0.0.1:9/x", "template": str(template)}
    }
    code, _, err = invoke("validate", "-c", str(write_config(tmp_path / "c.yaml", raw)))
    assert code == 2
    assert "slack.mrkdwn.j2" in err and "no_such_field" in err


def test_alerts_silence_and_unsilence_round_trip(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(FAILING)
    path = write_config(tmp_path / "c.yaml", config_dict(sim.url, tmp_path))
    assert invoke("check", "-c", str(path), "--date", "2026-11-22")[0] == 0

    code, out, _ = invoke("alerts", "-c", str(path), "--format", "json")
    assert code == 0
    [alert] = json.loads(out)
    assert (alert["rule"], alert["login"], alert["state"]) == ("backup-failed", "obm", "firing")
    code, out, _ = invoke("alerts", "-c", str(path))
    assert "backup-failed" in out and "firing" in out

    code, out, _ = invoke("silence", "-c", str(path), "--rule", "backup-*", "--login", "obm",
                          "--until", "2999-01-01", "--reason", "laptop in repair")  # fmt: skip
    assert code == 0, out
    silence_id = re.search(r"silence (\d+) added", out)
    assert silence_id is not None
    code, out, _ = invoke("silences", "-c", str(path))
    assert "laptop in repair" in out and "backup-*" in out
    assert invoke("unsilence", silence_id.group(1), "-c", str(path))[0] == 0
    assert "No silences." in invoke("silences", "-c", str(path))[1]
    code, _, err = invoke("unsilence", "999", "-c", str(path))
    assert code != 0 and "999" in err


def test_silence_in_the_past_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", config_dict("http://127.0.0.1:9", tmp_path))
    code, _, err = invoke("silence", "-c", str(path), "--rule", "r", "--login", "l",
                          "--until", "2001-01-01", "--reason", "x")  # fmt: skip
    assert code == 2 and "in the past" in err


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", config_dict("http://127.0.0.1:9", tmp_path))
    code, out, _ = invoke("db", "upgrade", "-c", str(path))
    assert code == 0 and "up to date" in out
    assert (tmp_path / "state.db").stat().st_size > 0
    assert invoke("db", "upgrade", "-c", str(path))[0] == 0


def test_test_notify_sends_a_marked_message_and_reports_errors(tmp_path: Path) -> None:
    with SlackSink() as slack:
        raw = config_dict("http://127.0.0.1:9", tmp_path)
        raw["notifiers"] = {"ops": {"type": "slack", "webhook_url": slack.url}}
        path = write_config(tmp_path / "c.yaml", raw)
        code, _, err = invoke("test-notify", "ops", "-c", str(path))
        assert code == 0, err
        assert len(slack.messages) == 1 and "TEST" in json.dumps(slack.messages[0])
        slack.fail_next("no_service")
        code, _, err = invoke("test-notify", "ops", "-c", str(path))
        assert code == 1 and "no_service" in err
        assert slack.url.split("/services/")[1] not in err
    code, _, err = invoke("test-notify", "nope", "-c", str(path))
    assert code == 2 and "no notifier named 'nope'" in err


def test_demo_shows_the_alerts_and_the_messages() -> None:
    code, out, err = invoke("demo")
    assert code == 0, err
    for expected in ("BS_STOP_BY_SYSTEM_ERROR", "RESTORE_STOP_BY_ERROR", "Exchange mailboxes",
                     "still running", "What reached Slack", "Subject: 🔴 2 critical — acme-fs",
                     "Nothing new to say"):  # fmt: skip
        assert expected in out


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```sh\n(python3 -m venv .*)\n```", readme)
    assert len(commands) >= 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert any(c in ci and "pytest" in c for c in commands)
    assert any("cbsalert demo" in c for c in commands)
