"""A broken config is a one-screen error naming the file, the line and the key, exit code 2,
and nothing is sent or stored: for ``validate`` and for ``check`` alike.

Each case edits one line of a known-good config (``GOOD``, whose line numbers the
expectations use) and runs the real command line in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import Result

from cbsalert.devtools.slack import SlackSink
from cbsalert.errors import EXIT_CONFIG
from tests.cli_invoke import invoke

GOOD = """\
cbs:
  url: http://127.0.0.1:9
  sys_user: system
  sys_password: ${CBSALERT_SYS_PASSWORD}
timezone: Europe/Amsterdam
schedule: "0 7 * * *"
state: sqlite:///{state}
watch:
  - login: user-alice
rules:
  - id: backup-failed
    kind: backup_status
    notify: [ops]
notifiers:
  ops:
    type: slack
    webhook_url: {webhook}
"""

# name -> (line to replace, its replacement, what the error must say)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "invalid YAML": (
        "    kind: backup_status", "    kind: [backup_status",
        ["cbsalert.yaml:13: invalid YAML"],
    ),
    "unknown key": (
        "    kind: backup_status", "    kind: backup_status\n    threshhold: 3",
        ["cbsalert.yaml:13: rules[0].threshhold: unknown key 'threshhold'"],
    ),
    "wrong type": (
        "  sys_user: system", "  sys_user: system\n  timeout_s: soon",
        ["cbsalert.yaml:4: cbs.timeout_s: Input should be a valid number"],
    ),
    "unknown notifier type": (
        "    type: slack", "    type: fax",
        ["cbsalert.yaml:15: notifiers.ops: unknown type 'fax'", "'slack'", "'teams'"],
    ),
    "unknown notifier name": (
        "    notify: [ops]", "    notify: [ops, pager]",
        ["cbsalert.yaml:13: rules[0].notify[1]: unknown notifier 'pager' (known: ops)"],
    ),
    "unknown rule in a watch entry": (
        "  - login: user-alice", "  - login: user-alice\n    rules: [backup-faild]",
        ["cbsalert.yaml:10: watch[0].rules[0]: unknown rule 'backup-faild'"],
    ),
    "missing environment variable": (
        "  sys_password: ${CBSALERT_SYS_PASSWORD}", "  sys_password: ${CBSALERT_NO_SUCH_VAR}",
        ["cbsalert.yaml:4: cbs.sys_password: environment variable CBSALERT_NO_SUCH_VAR is not set"],
    ),
    "invalid cron": (
        'schedule: "0 7 * * *"', 'schedule: "0 7 * *"',
        ["cbsalert.yaml:6: schedule: invalid cron expression '0 7 * *'"],
    ),
    "invalid time zone": (
        "timezone: Europe/Amsterdam", "timezone: Europe/Amsterdm",
        ["cbsalert.yaml:5: timezone: unknown time zone 'Europe/Amsterdm'"],
    ),
}  # fmt: skip


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBSALERT_SYS_PASSWORD", "Sys-S3cret-pw!")


def write(
    tmp_path: Path, slack: SlackSink, old: str = "", new: str = "", *, good: str = GOOD
) -> Path:
    """``good`` (this module's GOOD by default) with ``old`` replaced by ``new``, as
    tmp_path/cbsalert.yaml, pointing at ``slack``."""
    text = good.replace("{state}", str(tmp_path / "state.db")).replace("{webhook}", slack.url)
    assert old in text
    path = tmp_path / "cbsalert.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    path.chmod(0o600)
    return path


def assert_config_error(result: Result, expected: list[str]) -> None:
    assert result.exit_code == EXIT_CONFIG, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert len(result.output.splitlines()) <= 10, result.output  # one screen
    for text in expected:
        assert text in result.stderr, result.stderr


def assert_refused(command: str, path: Path, slack: SlackSink, expected: list[str]) -> Result:
    """``cbsalert COMMAND -c PATH`` refuses the config as ``assert_config_error`` says,
    before any message is sent or a state database is made."""
    result = invoke(command, "-c", str(path))
    assert_config_error(result, expected)
    assert slack.requests == []
    assert not (path.parent / "state.db").exists()
    return result


def test_the_good_config_validates(tmp_path: Path, slack: SlackSink) -> None:
    result = invoke("validate", "-c", str(write(tmp_path, slack)))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["validate", "check"])
def test_a_broken_config_names_file_line_and_key_exits_2_and_sends_nothing(
    command: str, case: str, tmp_path: Path, slack: SlackSink
) -> None:
    old, new, expected = CASES[case]
    assert_refused(command, write(tmp_path, slack, old, new), slack, expected)


def test_every_problem_is_listed_at_once(tmp_path: Path, slack: SlackSink) -> None:
    path = write(tmp_path, slack, "    notify: [ops]", "    notify: [ops]\n    severity: loud")
    text = path.read_text().replace("timezone: Europe/Amsterdam", "timezone: Mars/Base")
    path.write_text(text)

    result = invoke("validate", "-c", str(path))

    assert_config_error(result, ["2 problems", "cbsalert.yaml:5: timezone", "rules[0].severity"])


def test_a_config_file_that_cannot_be_read_is_a_config_error(tmp_path: Path) -> None:
    result = invoke("check", "-c", str(tmp_path / "nowhere.yaml"))
    assert_config_error(result, ["nowhere.yaml: cannot read the config file"])


# -- templates ----------------------------------------------------------------------------------


def _with_template(tmp_path: Path, slack: SlackSink, template: Path) -> Path:
    return write(tmp_path, slack, "    type: slack", f"    type: slack\n    template: {template}")


@pytest.mark.parametrize("kind", ["missing", "a directory"])
def test_validate_names_a_template_file_that_cannot_be_read(
    kind: str, tmp_path: Path, slack: SlackSink
) -> None:
    template = tmp_path / "alert.mrkdwn.j2"
    if kind == "a directory":
        template.mkdir()
    result = invoke("validate", "-c", str(_with_template(tmp_path, slack, template)))
    assert_config_error(result, [f"notifiers.ops: {template}: template file not found"])


def test_validate_names_a_template_file_that_is_not_utf8(tmp_path: Path, slack: SlackSink) -> None:
    template = tmp_path / "alert.mrkdwn.j2"
    template.write_bytes(b"\xff\xfe{{ alert.login }}")
    result = invoke("validate", "-c", str(_with_template(tmp_path, slack, template)))
    assert_config_error(result, ["notifiers.ops:", str(template)])


def test_check_refuses_an_unreadable_template_before_sending_anything(
    tmp_path: Path, slack: SlackSink
) -> None:
    template = tmp_path / "missing.mrkdwn.j2"
    path = _with_template(tmp_path, slack, template)
    path.write_text(path.read_text().replace("sys_user: system", "sys_user: system\n  retries: 0"))
    result = invoke("check", "-c", str(path))
    assert_config_error(result, [f"notifiers.ops: {template}: template file not found"])
    assert slack.requests == []
