"""Secrets stay secret, TLS is verified, the CBS is only read, hostile data stays inert.

The secret scan runs the real CLI in subprocesses with ``-vv`` logging along succeeding and
failing paths, then greps everything they printed, and a ``.dump`` of the state database,
for every distinctive secret of the config.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cbsalert.cbs import READ_OPERATIONS
from cbsalert.config import Config, load_config
from cbsalert.devtools.certs import openssl_available, self_signed_cert
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.pipeline import RunResult, run_once
from tests.cli_process import run_cli
from tests.conftest import SYS_PASSWORD, config_dict, write_config
from tests.fault_world import DAY1, DAY2, NOW2, WORLD, check_args, fault_config, save
from tests.sqlite_file import dump

pytestmark = pytest.mark.slow  # starts processes, waits on real timeouts

SMTP_PASSWORD = "Smtp-P4ss-9f3k2q"
SLACK_TOKEN = "xoxb-Sl4ck-T0ken-77x"
WRONG_SYS_PASSWORD = "Sys-Wr0ng-P4ss-1z"
WEBHOOK_PATH = "/services/T0000TEST/B0000TEST/s3cr3tW3bh00kP4th"
SECRETS = [SYS_PASSWORD, SMTP_PASSWORD, SLACK_TOKEN, WRONG_SYS_PASSWORD, WEBHOOK_PATH,
           "s3cr3tW3bh00kP4th"]  # fmt: skip

needs_openssl = pytest.mark.skipif(not openssl_available(), reason="needs the openssl command")


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(WORLD)


@pytest.fixture
def slack() -> Iterator[SlackSink]:
    with SlackSink(token=SLACK_TOKEN) as sink:
        yield sink


def secret_config(
    sim: Simulator, slack: SlackSink, smtp_port: int, tmp_path: Path
) -> dict[str, Any]:
    """Every kind of secret, each from the environment (see ``ENV``)."""
    raw = config_dict(sim.url, tmp_path, watch=[{"login": u["login"]} for u in WORLD["users"]])
    raw["cbs"]["sys_password"] = "${CBSALERT_SYS_PASSWORD}"
    raw["notifiers"] = {
        "hook": {"type": "slack", "webhook_url": "${SLACK_WEBHOOK_URL}", "timeout_s": 1},
        "api": {"type": "slack", "token": "${SLACK_TOKEN}", "channel": "#backups",
                "base_url": slack.api_base_url, "timeout_s": 1},
        "mail": {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                 "username": "cbsalert", "password": "${SMTP_PASSWORD}",
                 "from": "cbsalert@example.com", "to": ["ops@example.com"]},
    }  # fmt: skip
    raw["rules"] = [{"id": "failed", "kind": "backup_status", "notify": ["hook", "api", "mail"]}]
    return raw


def test_no_secret_reaches_output_logs_json_validate_or_the_database(
    sim: Simulator, slack: SlackSink, tmp_path: Path
) -> None:
    env = {"CBSALERT_SYS_PASSWORD": SYS_PASSWORD, "SLACK_WEBHOOK_URL": slack.url,
           "SLACK_TOKEN": SLACK_TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD}  # fmt: skip
    assert slack.url.endswith(WEBHOOK_PATH)
    outputs: list[str] = []

    def cli(*args: str, code: int, extra: dict[str, str] | None = None) -> None:
        done = run_cli("-vv", *args, env={**env, **(extra or {})})
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == code, done.stdout + done.stderr

    with SmtpSink(auth=("cbsalert", SMTP_PASSWORD)) as good, \
            SmtpSink(auth=("cbsalert", "not-what-we-send")) as refusing:  # fmt: skip
        failing = save(tmp_path, secret_config(sim, slack, refusing.port, tmp_path), "fail.yaml")
        working = save(tmp_path, secret_config(sim, slack, good.port, tmp_path), "ok.yaml")
        cli("validate", "-c", str(working), code=0)
        cli(*check_args(working, DAY1, "--dry-run", "--format", "json"), code=0)
        # Every notifier fails: webhook 403, Web API 500 (three tries), SMTP login refused.
        slack.fail_next("invalid_auth")
        slack.fail_next("server_error", 3)
        cli(*check_args(failing, DAY1), code=1)
        cli(*check_args(working, DAY2, "--format", "json"), code=0)
        cli("alerts", "--all", "--format", "json", "-c", str(working), code=0)
        cli(*check_args(working, DAY2, "--format", "json"), code=3,
            extra={"CBSALERT_SYS_PASSWORD": WRONG_SYS_PASSWORD})  # fmt: skip
        assert len(good.messages) == 2  # DAY2 (alice resolved), then "cannot use the CBS"

    everything = "\n".join([*outputs, dump(tmp_path / "state.db")])
    assert " DEBUG " in everything  # the scan saw debug logging, not an empty stream
    assert "invalid_token" in everything and "535" in everything  # and the failures
    assert "Incorrect system username/password" in everything
    leaked = [secret for secret in SECRETS if secret in everything]
    assert leaked == []


# -- TLS --------------------------------------------------------------------------------------


@pytest.fixture
def https_sim(tmp_path: Path) -> Iterator[tuple[Simulator, Path]]:
    """The simulator behind TLS with a self-signed certificate (its file is returned)."""
    sim = Simulator(SimData.model_validate({"system_password": SYS_PASSWORD,
                                           "today": "2026-11-23", **WORLD}))  # fmt: skip
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sim.use_tls(context)
    with sim:
        yield sim, cert


def _tls_run(sim: Simulator, tmp_path: Path, **cbs: Any) -> RunResult:
    url = sim.url.replace("http://", "https://")
    config = Config.model_validate(fault_config(url, tmp_path, cbs=cbs))
    return asyncio.run(run_once(config, day=DAY2, now=NOW2, dry_run=True))


@needs_openssl
def test_tls_is_verified_unless_switched_off_which_warns_on_every_run(
    https_sim: tuple[Simulator, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim, cert = https_sim
    caplog.set_level(logging.WARNING, logger="cbsalert")

    refused = _tls_run(sim, tmp_path)
    assert refused.exit_code == 3
    assert refused.fatal is not None and "CERTIFICATE_VERIFY_FAILED" in refused.fatal
    assert "TLS verification" not in caplog.text

    trusted = _tls_run(sim, tmp_path, ca_bundle=str(cert))
    assert (trusted.exit_code, trusted.users_checked) == (0, 3)

    for _ in range(2):
        unverified = _tls_run(sim, tmp_path, verify_tls=False)
        assert (unverified.exit_code, unverified.users_checked) == (0, 3)
    warnings = [r for r in caplog.records if "TLS verification" in r.getMessage()]
    assert len(warnings) == 2 and all(r.levelno == logging.WARNING for r in warnings)
    assert "is OFF (cbs.verify_tls: false)" in warnings[0].getMessage()


# -- a config file others can read --------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "mode", "warned"),
    [
        ("a-literal-secret", 0o644, True),
        ("a-literal-secret", 0o640, True),
        ("a-literal-secret", 0o600, False),
        ("${CBSALERT_SYS_PASSWORD}", 0o644, False),
    ],
)
def test_a_literal_secret_in_a_file_others_can_read_gives_a_warning(
    password: str,
    mode: int,
    warned: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CBSALERT_SYS_PASSWORD", "from-the-environment")
    raw = config_dict("http://127.0.0.1:9", tmp_path)
    raw["cbs"]["sys_password"] = password
    path = write_config(tmp_path / "cbsalert.yaml", raw)
    path.chmod(mode)

    with caplog.at_level(logging.WARNING, logger="cbsalert.config"):
        load_config(path)

    if warned:
        assert "holds a literal secret (cbs.sys_password) and is readable by other users" in (
            caplog.text
        )
        assert "a-literal-secret" not in caplog.text
    else:
        assert caplog.records == []


# -- the CBS is only read -----------------------------------------------------------------------

RICH_WORLD: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "users": [
        {
            "login": "busy",
            "owner": "reseller",
            "backup_sets": [
                {"id": "1", "name": "Files", "destinations": [{"id": "d1"}, {"id": "d2"}]},
                {"id": "2", "name": "SQL"},
            ],
            "jobs": [
                {"set": "1", "start": "D-1 02:00:00", "end": None},
                {"set": "2", "start": "D-1 03:00:00", "end": "D-1 03:30:00", "errors": 2},
            ],
            "restores": [{"set": "2", "start": "D-1 11:00:00", "end": "D-1 11:03:00",
                          "status": "RESTORE_STOP_BY_ERROR"}],
        },
        {"login": "idle", "backup_sets": [{"id": "3", "name": "Docs"}]},
    ],
}  # fmt: skip
ALL_RULES: list[dict[str, Any]] = [
    {"id": "failed", "kind": "backup_status"},
    {"id": "errors", "kind": "error_count"},
    {"id": "warnings", "kind": "warning_count"},
    {"id": "missing", "kind": "missing_backup"},
    {"id": "restore", "kind": "restore_status"},
    {"id": "stuck", "kind": "long_running", "max_hours": 1},
]


@pytest.mark.parametrize("server", ["current", "older than 9.7", "faulty"])
def test_a_full_run_calls_nothing_but_the_read_operations(
    server: str, make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    data = dict(RICH_WORLD)
    if server == "older than 9.7":
        data["version"] = "9.5.0.0"
    if server == "faulty":
        data["faults"] = {"error_rate": 0.2, "truncated_rate": 0.1, "html_rate": 0.1, "seed": 7}
    sim = make_sim(data)
    # idle is found by ListUsers: discovering users only reads too
    watch = [{"login": "busy"}, {"select": {"logins": ["idle"]}}]
    raw = config_dict(sim.url, tmp_path, watch=watch,
                      rules=ALL_RULES)  # fmt: skip
    result = asyncio.run(run_once(Config.model_validate(raw), day=DAY2, now=NOW2))

    # Every request the server saw is an operation asked for or a retry of one.
    assert result.api_calls + result.api_retries == sim.count() > 0
    assert sim.unexpected == []
    assert {call.operation for call in sim.calls} <= set(READ_OPERATIONS)
    if server == "current":  # AuthSystemUser only follows an error answer
        assert {call.operation for call in sim.calls} == set(READ_OPERATIONS) - {"AuthSystemUser"}


# -- hostile data from the CBS, end to end --------------------------------------------------------

EVIL_LOGIN = "<!channel> & *ops*"
EVIL_SET = "C:\\Users\\Ann\\<script>alert(1)</script> & *bold* _u_ ~s~ `tick`\nSubject: forged"
LONG_OWNER = "o" * 10_000


def test_hostile_names_from_the_cbs_arrive_escaped_in_slack_and_html_email(
    make_sim: Callable[..., Simulator], slack: SlackSink, tmp_path: Path
) -> None:
    sim = make_sim({"users": [{
        "login": EVIL_LOGIN, "owner": LONG_OWNER,
        "backup_sets": [{"id": "1", "name": EVIL_SET}],
        "jobs": [{"set": "1", "start": "D-1 20:00:00", "end": "D-1 20:30:00",
                  "status": "BS_<i>ERR</i>"}],
    }]})  # fmt: skip
    with SmtpSink() as smtp:
        raw = fault_config(sim.url, tmp_path, logins=[EVIL_LOGIN], slack_url=slack.url,
                           smtp_port=smtp.port)  # fmt: skip
        result = asyncio.run(run_once(Config.model_validate(raw), day=DAY2, now=NOW2))
        [mail] = smtp.messages
    assert (result.exit_code, result.deliveries_sent) == (0, 2)

    [payload] = slack.messages
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    [shown] = [t for t in texts[1:] if "alert(1)" in t]  # the entry, below the headline
    # The line to copy is inline code on purpose (Slack formats nothing inside it).
    alert, command = re.subn(r"\nTo silence it: `[^`]*`$", "", shown)
    assert command == 1
    assert "<" not in alert and ">" not in alert.replace("&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in alert
    assert "&lt;!channel&gt; &amp;" in alert and "&lt;i&gt;ERR&lt;/i&gt;" in alert
    assert "`" not in alert and "*bold*" not in alert and "~s~" not in alert
    assert "C:\\Users\\Ann\\" in alert
    assert not any(line.startswith("Subject: forged") for line in alert.splitlines())
    assert "<!channel>" not in json.dumps(payload)  # not in the fallback text either
    assert len(json.dumps(payload)) < 40_000 and LONG_OWNER not in json.dumps(payload)

    html = mail.get_body(("html",))
    text = mail.get_body(("plain",))
    assert html is not None and text is not None
    body = html.get_content()
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<i>ERR</i>" not in body and "<!channel>" not in body
    assert LONG_OWNER not in body
    assert "\n" not in str(mail["Subject"]) and mail["X-Forged"] is None
    assert not any(
        re.match(r"\s*Subject: forged", line) for line in text.get_content().splitlines()
    )
