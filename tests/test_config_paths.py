"""Every relative path in a config file is relative to that file's folder, whatever the
working directory: the SQLite state file (a cron job started elsewhere must not start a
second, empty state and announce every firing alert again), templates and CA bundles.

The config lives in ``etc/``; the commands run from two other directories.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cbsalert.config import load_config
from cbsalert.devtools.certs import openssl_available
from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from tests.cli_invoke import invoke
from tests.conftest import config_dict, write_config

FAILED = {
    "timezone": "Europe/Amsterdam",
    "users": [
        {
            "login": "obm",
            "backup_sets": [{"id": "1", "name": "Docs"}],
            "jobs": [{"set": "1", "start": "D-1 22:00:00", "end": "D-1 22:10:00",
                      "status": "BS_STOP_BY_SYSTEM_ERROR"}],
        }
    ],
}  # fmt: skip


def config_in(folder: Path, sim_url: str, **overrides: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raw = config_dict(sim_url, folder, **{"state": "sqlite:///cbsalert.db", **overrides})
    return write_config(folder / "cbsalert.yaml", raw)


def elsewhere(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ``tmp_path/name`` the working directory."""
    folder = tmp_path / name
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_a_relative_sqlite_state_is_next_to_the_config_whatever_the_working_directory(
    make_sim: Callable[..., Simulator],
    slack: SlackSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = make_sim(FAILED)
    path = config_in(
        tmp_path / "etc", sim.url,
        notifiers={"ops": {"type": "slack", "webhook_url": slack.url}},
        rules=[{"id": "backup-failed", "kind": "backup_status", "notify": ["ops"]}],
    )  # fmt: skip

    first = elsewhere(tmp_path, "cron", monkeypatch)
    result = invoke("check", "-c", str(path), "--date", "2026-11-22")
    assert result.exit_code == 0, result.output
    second = elsewhere(tmp_path, "home", monkeypatch)
    result = invoke("check", "-c", str(path), "--date", "2026-11-22")
    assert result.exit_code == 0, result.output

    assert len(slack.messages) == 1  # the second run knew the alert was already said
    assert (tmp_path / "etc" / "cbsalert.db").is_file()
    assert list(first.iterdir()) == list(second.iterdir()) == []


def test_state_urls_that_are_not_relative_files_are_left_as_they_are(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    for url, expected in (
        ("sqlite:///cbsalert.db", f"sqlite:///{folder}/cbsalert.db"),
        ("sqlite:///~/state/cbsalert.db", f"sqlite:///{Path.home()}/state/cbsalert.db"),
        (f"sqlite:///{tmp_path}/abs.db", f"sqlite:///{tmp_path}/abs.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql+psycopg://u:pw@db/cbsalert", "postgresql+psycopg://u:pw@db/cbsalert"),
    ):
        path = config_in(folder, "http://127.0.0.1:9", state=url)
        assert load_config(path).state == expected


def test_a_relative_template_is_read_from_the_config_folder(
    slack: SlackSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "alert.mrkdwn.j2").write_text("ETC TEMPLATE {{ alert.login }}")
    notifier = {"type": "slack", "webhook_url": slack.url, "template": "alert.mrkdwn.j2"}
    path = config_in(folder, "http://127.0.0.1:9", notifiers={"ops": notifier})
    elsewhere(tmp_path, "home", monkeypatch)

    result = invoke("test-notify", "ops", "-c", str(path))

    assert result.exit_code == 0, result.output
    assert "ETC TEMPLATE" in str(slack.messages[0])


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command")
def test_a_relative_ca_bundle_is_read_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    with SmtpSink(tls="ssl") as smtp:
        assert smtp.cert_file is not None
        shutil.copy(smtp.cert_file, folder / "smtp-ca.pem")
        notifier = {
            "type": "email", "smtp_host": smtp.host, "smtp_port": smtp.port,
            "security": "ssl", "ca_bundle": "smtp-ca.pem",
            "from": "cbsalert@example.com", "to": ["oncall@example.com"],
        }  # fmt: skip
        path = config_in(folder, "http://127.0.0.1:9", notifiers={"mail": notifier})
        elsewhere(tmp_path, "home", monkeypatch)

        result = invoke("test-notify", "mail", "-c", str(path))

        assert result.exit_code == 0, result.output
        assert len(smtp.messages) == 1

    raw_cbs = {**config_dict("https://cbs.example.com", folder)["cbs"], "ca_bundle": "cbs-ca"}
    path = config_in(folder, "https://cbs.example.com", cbs=raw_cbs)
    assert load_config(path).cbs.ca_bundle == str(folder / "cbs-ca")
