"""``rules.example.yaml`` takes every secret from the environment with no default: a
forgotten ``export`` must fail ``validate``, not pass it with a placeholder password or
webhook that sends the morning's alerts nowhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.config import load_config
from cbsalert.errors import EXIT_CONFIG
from cbsalert.notify import NOTIFIER_KINDS
from cbsalert.yamlconf import SECRET_KEYS

EXAMPLE = Path(__file__).parent.parent / "rules.example.yaml"
SECRETS = {"CBSALERT_SYS_PASSWORD": "Sys-S3cret-pw!",
           "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T1/B1/s3cr3t"}  # fmt: skip


def test_the_example_without_its_secrets_in_the_environment_fails_validate_naming_them() -> None:
    result = CliRunner().invoke(app, ["validate", "-c", str(EXAMPLE)])

    assert result.exit_code == EXIT_CONFIG, result.output
    for name in SECRETS:
        assert f"environment variable {name} is not set" in result.stderr


def test_the_example_validates_once_its_secrets_are_exported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)

    result = CliRunner().invoke(app, ["validate", "-c", str(EXAMPLE)])

    assert result.exit_code == 0, result.output


def test_no_secret_in_the_example_has_a_default_even_where_commented_out() -> None:
    keys = "|".join(sorted(SECRET_KEYS))
    lines = re.findall(rf"^\s*#?\s*(?:{keys}):.*$", EXAMPLE.read_text(), re.MULTILINE)
    assert len(lines) >= 4  # sys_password, webhook_url, token, password, heartbeat_url
    assert [line for line in lines if ":-" in line] == []


def test_the_history_kinds_of_the_example_round_trip_through_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)

    rules = {r.id: r for r in load_config(EXAMPLE).rules}

    wanted = {
        "backs-up-nothing": ("no_change", {"days": 3, "window": 30, "min_history": 7}),
        "mass-changes": ("change_spike", {"ratio": 10, "window": 14, "min_files": 1000,
                                          "measure": "files", "min_size_mb": 1024}),
        "slow-backup": ("duration", {"ratio": 3, "min_minutes": 30, "window": 14}),
    }  # fmt: skip
    for rule_id, (kind, fields) in wanted.items():
        rule = rules[rule_id]
        assert rule.kind == kind
        assert {k: getattr(rule, k) for k in fields} == fields
        assert type(rule).model_validate(rule.model_dump()) == rule


# Each notifier kind has one commented example in the example's `notifiers:` section: a block
# "  # NAME:" followed by its "  #   key: value" lines.
EXAMPLE_BLOCK = re.compile(r"^  # ([\w-]+):[^\n]*\n((?:  #   [^\n]*\n)+)", re.MULTILINE)
EXAMPLE_SECRETS = {
    "WEBHOOK_URL": "https://hooks.example.com/cbsalert/t0k3n",
    "WEBHOOK_SECRET": "Hm4c-S3cret-for-the-example",
    "WEBHOOK_AUTHORIZATION": "Bearer ex4mple-t0ken",
    "PAGERDUTY_ROUTING_KEY": "R0ut1ngK3yOfTh3Ex4mpl3000000000a",
    "TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/workflows/x?sig=s3cr3t",
}


def test_every_notifier_kind_has_a_commented_example_that_validates_uncommented(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {**SECRETS, **EXAMPLE_SECRETS}.items():
        monkeypatch.setenv(name, value)
    text = EXAMPLE.read_text()
    blocks = EXAMPLE_BLOCK.findall(text)
    uncommented = text
    for name, body in blocks:
        lines = "".join(line.replace("  #   ", "    ", 1) + "\n" for line in body.splitlines())
        uncommented += f"  {name}:\n{lines}"
    path = tmp_path / "uncommented.yaml"
    path.write_text(uncommented)

    config = load_config(path)

    kinds = {config.notifiers[name].type for name, _ in blocks}
    assert kinds == set(NOTIFIER_KINDS) - {"slack", "email"}  # those two are not commented
