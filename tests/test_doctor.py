"""`cbsalert doctor`: the setup checked against the real simulator, the Slack stand-in,
aiosmtpd and a real state database, and nothing ever sent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.config import Config
from cbsalert.devtools.certs import openssl_available
from cbsalert.devtools.pagerduty import pagerduty_sink
from cbsalert.devtools.receiver import webhook_receiver
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.devtools.teams import teams_sink
from cbsalert.doctor import Check, Status, concurrently, run_doctor
from cbsalert.state import StateStore
from cbsalert.state.schema import HEAD_REVISION, current_revision, upgrade
from tests.alertmanager_process import Alertmanager
from tests.conftest import SYS_PASSWORD, config_dict, write_config

TOKEN = "xoxb-D0ct0r-T0ken-s3cret"
SMTP_USER, SMTP_PASSWORD = "alerts", "Smtp-D0ct0r-pw!"
HEARTBEAT = "https://hc-ping.example.com/8f3c1a2e-secret-uuid"
WORLD = {
    "users": [{"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"}]}, {"login": "acme-fs"}]
}
needs_openssl = pytest.mark.skipif(not openssl_available(), reason="needs the openssl command")


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(WORLD)


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    """A state database at the current schema revision, as `cbsalert db upgrade` leaves it."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    store.upgrade()
    store.close()
    return url


def configure(tmp_path: Path, sim: Simulator, state_url: str, **overrides: Any) -> Path:
    raw = config_dict(
        sim.url, tmp_path, state=state_url, watch=[{"login": "obm"}, {"login": "acme-fs"}]
    )
    raw.update(overrides)
    return write_config(tmp_path / "cbsalert.yaml", raw)


def doctor(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", "-c", str(path)])
    return result.exit_code, result.stdout + result.stderr


def line(output: str, start: str) -> str:
    """The one output line that starts with ``start`` (a mark and a subject)."""
    [found] = [text for text in output.splitlines() if text.startswith(start)]
    return found


def oncall_email(smtp: SmtpSink, **fields: Any) -> dict[str, Any]:
    """An email notifier "oncall" logging in to ``smtp`` as SMTP_USER; ``fields`` override."""
    return {
        "oncall": {
            "type": "email", "smtp_host": smtp.host, "smtp_port": smtp.port,
            "username": SMTP_USER, "password": SMTP_PASSWORD,
            "from": "cbsalert@example.com", "to": ["oncall@example.com"], **fields,
        }
    }  # fmt: skip


def ops_slack(slack: SlackSink) -> dict[str, Any]:
    """A Slack Web API notifier "ops-slack" posting with TOKEN through ``slack``."""
    return {
        "ops-slack": {
            "type": "slack", "token": TOKEN, "channel": "#backups",
            "base_url": slack.api_base_url,
        }
    }  # fmt: skip


def test_a_sound_setup_passes_every_check_and_sends_nothing(
    tmp_path: Path, sim: Simulator, state_url: str
) -> None:
    with (
        SlackSink(token=TOKEN) as slack,
        SmtpSink(auth=(SMTP_USER, SMTP_PASSWORD)) as smtp,
    ):
        notifiers = {
            **ops_slack(slack),
            "ops-hook": {"type": "slack", "webhook_url": slack.url},
            **oncall_email(smtp),
        }
        path = configure(tmp_path, sim, state_url, notifiers=notifiers, heartbeat_url=HEARTBEAT)

        code, out = doctor(path)

        assert code == 0, out
        assert "system user 'system' accepted" in line(out, "✓ CBS:")
        assert "2 watched logins exist" in line(out, "✓ watched logins:")
        assert HEAD_REVISION in line(out, "✓ state database:")
        assert "auth.test" in line(out, "✓ slack ops-slack:")
        assert "logged in as alerts" in line(out, "✓ email oncall:")
        assert "without posting" in line(out, "- slack ops-hook:")
        assert "not pinged" in line(out, "- heartbeat:")
        assert slack.messages == []
        assert [r.path for r in slack.requests] == ["/api/auth.test"]
        assert smtp.received == []
    assert sim.unexpected == []
    assert {call.operation for call in sim.calls} == {"AuthSystemUser", "ListBackupJobMode"}
    for secret in (SYS_PASSWORD, TOKEN, SMTP_PASSWORD, HEARTBEAT, slack.url):
        assert secret not in out


def test_a_wrong_system_password_is_the_cbs_failing_exit_3(
    tmp_path: Path, make_sim: Callable[..., Simulator], state_url: str
) -> None:
    sim = make_sim({**WORLD, "system_password": "another-password"})
    code, out = doctor(configure(tmp_path, sim, state_url))

    assert code == 3, out
    refused = line(out, "✗ CBS:")
    assert "Incorrect system username/password" in refused
    assert "cbs.sys_user" in refused and "cbs.sys_password" in refused
    assert "not checked" in line(out, "- watched logins:")
    assert [call.operation for call in sim.calls] == ["AuthSystemUser"]
    assert SYS_PASSWORD not in out


def test_an_unreachable_cbs_is_exit_3(tmp_path: Path, state_url: str) -> None:
    raw = config_dict(f"http://127.0.0.1:{SmtpSink.closed_port()}", tmp_path, state=state_url)
    code, out = doctor(write_config(tmp_path / "cbsalert.yaml", raw))

    assert code == 3, out
    assert "cannot connect" in line(out, "✗ CBS:")


def test_a_cbs_url_with_the_api_path_says_what_to_fix(
    tmp_path: Path, sim: Simulator, state_url: str
) -> None:
    raw = config_dict(sim.url + "/obs/api/json", tmp_path, state=state_url)
    code, out = doctor(write_config(tmp_path / "cbsalert.yaml", raw))

    assert code == 3, out
    assert "without /obs/api/json" in line(out, "✗ CBS:")
    assert line(out, "✗ CBS:").count("base URL") == 1  # the client's hint, said once


def test_an_unknown_watched_login_is_named_exit_1(
    tmp_path: Path, sim: Simulator, state_url: str
) -> None:
    raw = config_dict(
        sim.url,
        tmp_path,
        state=state_url,
        watch=[{"login": "obm"}, {"login": "acme-f5"}, {"login": "acme-fs"}],
    )
    code, out = doctor(write_config(tmp_path / "cbsalert.yaml", raw))

    assert code == 1, out
    missing = line(out, "✗ watch[1] acme-f5:")
    assert "not found" in missing and "watch[1]" in missing
    assert "2 of 3 watched logins exist" in line(out, "✓ watched logins:")
    assert "✓ CBS:" in out


def test_a_missing_state_database_fails_and_is_not_created(tmp_path: Path, sim: Simulator) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'state.db'}"
    (tmp_path / "elsewhere").mkdir()
    code, out = doctor(configure(tmp_path, sim, url))

    assert code == 1, out
    missing = line(out, "✗ state database:")
    assert "does not exist" in missing and "cbsalert db upgrade" in missing
    assert not (tmp_path / "elsewhere" / "state.db").exists()


def test_a_state_database_at_an_old_revision_fails(tmp_path: Path, sim: Simulator) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0002_run_slots")
    engine.dispose()

    code, out = doctor(configure(tmp_path, sim, url))

    assert code == 1, out
    old = line(out, "✗ state database:")
    assert "0002_run_slots" in old and "cbsalert db upgrade" in old
    engine = create_engine(url)
    assert current_revision(engine) == "0002_run_slots"  # looked at, not upgraded
    engine.dispose()


@pytest.mark.skipif(not os.environ.get("CBSALERT_TEST_PG_URL"), reason="needs PostgreSQL")
def test_a_postgresql_state_database_at_the_current_revision_passes(
    tmp_path: Path, sim: Simulator
) -> None:
    url = os.environ["CBSALERT_TEST_PG_URL"]
    store = StateStore(url)
    store.upgrade()
    store.close()

    code, out = doctor(configure(tmp_path, sim, url))

    assert code == 0, out
    assert "postgresql" in line(out, "✓ state database:")


def test_an_invalid_slack_token_fails_exit_1(
    tmp_path: Path, sim: Simulator, state_url: str
) -> None:
    with SlackSink(token="xoxb-the-right-one") as slack:
        notifiers = ops_slack(slack)
        code, out = doctor(configure(tmp_path, sim, state_url, notifiers=notifiers))
        assert slack.messages == []

    assert code == 1, out
    refused = line(out, "✗ slack ops-slack:")
    assert "invalid_auth" in refused and "auth.test" in refused
    assert TOKEN not in out


def test_a_wrong_smtp_password_fails_and_sends_no_mail(
    tmp_path: Path, sim: Simulator, state_url: str
) -> None:
    with SmtpSink(auth=(SMTP_USER, SMTP_PASSWORD)) as smtp:
        notifiers = oncall_email(smtp, password="not-the-password")
        code, out = doctor(configure(tmp_path, sim, state_url, notifiers=notifiers))
        assert smtp.received == []

    assert code == 1, out
    assert "login as alerts refused" in line(out, "✗ email oncall:")
    assert "not-the-password" not in out


@needs_openssl
def test_smtp_starttls_with_a_private_ca_passes(
    tmp_path: Path, sim: Simulator, state_url: str
) -> None:
    with SmtpSink(auth=(SMTP_USER, SMTP_PASSWORD), tls="starttls") as smtp:
        notifiers = oncall_email(smtp, security="starttls", ca_bundle=smtp.cert_file)
        code, out = doctor(configure(tmp_path, sim, state_url, notifiers=notifiers))
        assert smtp.received == []

    assert code == 0, out
    assert "STARTTLS" in line(out, "✓ email oncall:")


def test_a_config_error_is_exit_2_and_contacts_nothing(tmp_path: Path, sim: Simulator) -> None:
    raw = config_dict(sim.url, tmp_path)
    raw["cbs"]["sys_password"] = "${NOT_SET_ANYWHERE}"
    code, out = doctor(write_config(tmp_path / "cbsalert.yaml", raw))

    assert code == 2, out
    assert sim.calls == []


def test_the_real_command_line_exits_3_for_a_refused_system_user(
    tmp_path: Path, make_sim: Callable[..., Simulator], state_url: str
) -> None:
    sim = make_sim({**WORLD, "system_password": "another-password"})
    path = configure(tmp_path, sim, state_url)
    done = subprocess.run(
        [sys.executable, "-m", "cbsalert", "doctor", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )

    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("✗ CBS:")
    assert SYS_PASSWORD not in done.stdout + done.stderr


# -- the parts, on plain data ---------------------------------------------------------------------


def test_a_check_that_does_not_answer_in_time_is_a_failure_naming_the_wait() -> None:
    release = threading.Event()

    def stuck() -> list[Check]:
        release.wait()
        return [Check("stuck", Status.OK, "never seen")]

    try:
        results = concurrently(
            [("stuck", stuck, 0.05), ("quick", lambda: [Check("quick", Status.OK, "fine")], 5.0)]
        )
    finally:
        release.set()

    assert [(c.subject, c.status) for c in results] == [
        ("stuck", Status.FAILED),
        ("quick", Status.OK),
    ]
    assert "no answer within 0.05 s" in results[0].detail


def test_a_check_that_raises_is_a_failure_not_a_traceback() -> None:
    def broken() -> list[Check]:
        raise RuntimeError("boom")

    [result] = concurrently([("broken", broken, 5.0)])
    assert result.status is Status.FAILED and "boom" in result.detail


def test_every_text_from_the_cbs_is_printed_inert(
    tmp_path: Path, sim: Simulator, state_url: str
) -> None:
    # The CBS echoes the login in its "not found" answer: escape sequences and a newline
    # must not reach the terminal or forge a line of their own.
    evil = "\x1b[2J\x1b]8;;http://x\x07ev\u202eil\n✓ CBS: all good"
    raw = config_dict(sim.url, tmp_path, state=state_url, watch=[{"login": evil}])
    report = run_doctor(Config.model_validate(raw))

    assert report.exit_code == 1
    lines = report.lines()
    assert all(text.isprintable() for text in lines)
    assert [text for text in lines if text.startswith("✓ CBS:")] == [lines[0]]
    assert "\\x1b[2J" in line("\n".join(lines), "✗ watch[0]")


def test_the_simulator_answers_auth_system_user_like_the_document(sim: Simulator) -> None:
    # https://www.ahsay.com/.../api/system/user/auth-system-user: examples 1 and 2.
    assert sim.answer("AuthSystemUser", {"SysUser": "system", "SysPwd": SYS_PASSWORD}) == {
        "Status": "OK"
    }
    assert sim.answer("AuthSystemUser", {"SysUser": "system", "SysPwd": "sample"}) == {
        "Status": "Error",
        "Message": "Incorrect system username/password",
        "ExptType": "com.ahsay.obs.core.dbs.c",
    }


def test_each_http_notifier_kind_says_what_it_can_check_and_sends_nothing(
    tmp_path: Path, sim: Simulator, state_url: str, alertmanager: Alertmanager
) -> None:
    with webhook_receiver() as hook, pagerduty_sink() as pd, teams_sink() as teams:
        notifiers = {
            "hook": {"type": "webhook", "url": f"{hook.base_url}/h"},
            "pd": {"type": "pagerduty", "routing_key": "R" * 32, "base_url": pd.base_url},
            "am": {"type": "alertmanager", "url": alertmanager.url},
            "ms": {"type": "teams", "webhook_url": f"{teams.base_url}/w"},
        }
        path = configure(tmp_path, sim, state_url, notifiers=notifiers)

        code, out = doctor(path)

        assert code == 0, out
        assert "cannot be tested without posting" in line(out, "- webhook hook:")
        assert "cannot check a routing key without sending" in line(out, "- pagerduty pd:")
        assert "is ready (GET /-/ready); no alert posted" in line(out, "✓ alertmanager am:")
        assert "cannot be tested without posting" in line(out, "- teams ms:")
        assert hook.requests == pd.requests == teams.requests == []


def test_an_alertmanager_that_does_not_answer_fails_doctor(
    tmp_path: Path, sim: Simulator, state_url: str
) -> None:
    notifiers = {"am": {"type": "alertmanager", "url": "http://127.0.0.1:1", "timeout_s": 1}}
    path = configure(tmp_path, sim, state_url, notifiers=notifiers)

    code, out = doctor(path)

    assert code == 1, out
    assert "check notifiers.am" in line(out, "✗ alertmanager am:")
