"""Every YAML mistake in the config file is a ``file:line:`` config error, exit 2, never a
traceback, for ``validate`` and ``check`` alike; so are the mistakes the models catch
late or not at all (a missing key, a login watched twice, a state URL ``check`` rejects).

Each case edits a known-good config (``GOOD``, whose line numbers the expectations use) and
runs the real command line in-process. The alias bomb runs in a real process with a memory
cap, so that a regression fails the test instead of eating the machine.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from cbsalert.config import load_config
from cbsalert.devtools.slack import SlackSink
from cbsalert.errors import EXIT_CONFIG
from tests import test_config_errors as config_errors
from tests.test_config_errors import assert_config_error, assert_refused, invoke

GOOD = """\
cbs:
  url: http://127.0.0.1:9
  sys_user: system
  sys_password: ${CBSALERT_SYS_PASSWORD}
timezone: Europe/Amsterdam
schedule: "0 7 * * *"
state: sqlite:///state.db
watch:
  - login: user-alice
  - login: user-bob
rules:
  - id: backup-failed
    kind: backup_status
    notify: [ops]
notifiers:
  ops:
    type: slack
    webhook_url: {webhook}
"""

# A "billion laughs": nine levels of ten aliases, 10^9 values once expanded.
BOMB = "lol: &l0 [lol]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)
)

# name -> (text to replace, its replacement, what the error must say)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "a key with no value": (
        "timezone: Europe/Amsterdam", "timezone:",
        ["cbsalert.yaml:5: timezone: has no value"],
    ),
    "a list item with no value": (
        "  - login: user-alice", "  - login:",
        ["cbsalert.yaml:9: watch[0].login: has no value"],
    ),
    "a notifier indented under its name's level": (
        "    type: slack\n    webhook_url:", "  type: slack\n  webhook_url:",
        ["cbsalert.yaml:16: notifiers.ops: has no value", "cbsalert.yaml:17: notifiers.type:"],
    ),
    "a python tag on a value": (
        "    kind: backup_status", "    kind: !!python/name:os.system",
        ["cbsalert.yaml:13: rules[0].kind: the tag !!python/name:os.system is not allowed"],
    ),
    "a python tag on a mapping": (
        "cbs:\n", "cbs: !!python/object/apply:os.system\n",
        ["cbsalert.yaml:1: cbs: the tag !!python/object/apply:os.system is not allowed"],
    ),
    "a list used as a key": (
        "watch:\n", "[a, b]: 1\nwatch:\n",
        ["cbsalert.yaml:8: a list cannot be a key"],
    ),
    "a duplicate key": (
        'schedule: "0 7 * * *"', 'schedule: "0 7 * * *"\ntimezone: UTC',
        ["cbsalert.yaml:7: timezone: duplicate key (first at line 5)"],
    ),
    "a duplicate key in a list item": (
        "    kind: backup_status", "    kind: backup_status\n    kind: error_count",
        ["cbsalert.yaml:14: rules[0].kind: duplicate key (first at line 13)"],
    ),
    "an impossible date": (
        'schedule: "0 7 * * *"', "schedule: 2026-02-30",
        ["cbsalert.yaml:6: schedule: cannot read this value: day is out of range"],
    ),
    "a control character": (
        "  sys_user: system", "  sys_user: sys\x00tem",
        ["cbsalert.yaml:3: invalid YAML: unacceptable character #x0000"],
    ),
    "an indentation error": (
        "  - login: user-bob", "   login: user-bob",
        ["cbsalert.yaml:10: invalid YAML:", "(while parsing a block collection at line 9)"],
    ),
    "two documents": (
        "watch:\n", "---\nwatch:\n",
        ["cbsalert.yaml:8: invalid YAML: but found another document"],
    ),
    "nesting too deep": (
        "  - login: user-bob", "  - login: " + "[" * 200 + "]" * 200,
        ["cbsalert.yaml:10: nested more than 50 levels deep"],
    ),
    "a missing top-level key": (
        "watch:\n  - login: user-alice\n  - login: user-bob\n", "",
        ["cbsalert.yaml:1: watch: required key is missing"],
    ),
    "a missing nested key": (
        "  sys_user: system\n", "",
        ["cbsalert.yaml:1: cbs.sys_user: required key is missing"],
    ),
    "a login watched twice": (
        "  - login: user-bob", "  - login: user-bob\n  - login: user-alice",
        ["cbsalert.yaml:11: watch[2].login: login 'user-alice' is watched twice "
         "(first at line 9)"],
    ),
    "a rule id used twice": (
        "    notify: [ops]", "    notify: [ops]\n  - id: backup-failed\n    kind: error_count",
        ["cbsalert.yaml:15: rules[1].id: rule id 'backup-failed' is used twice "
         "(first at line 12)"],
    ),
    "an unparsable state URL": (
        "state: sqlite:///state.db", "state: sqlite:/state.db",
        ["cbsalert.yaml:7: state: cannot use state database", "not a database URL"],
    ),
    "a state URL whose driver is missing": (
        "state: sqlite:///state.db", "state: mysql://cbsalert:Db-S3cret@db.example.com/cbsalert",
        ["cbsalert.yaml:7: state: cannot use state database "
         "mysql://cbsalert:***@db.example.com/cbsalert", "No module named 'MySQLdb'"],
    ),
    "a state URL of an unknown database": (
        "state: sqlite:///state.db", "state: nosuchdb://host/db",
        ["cbsalert.yaml:7: state: cannot use state database", "unknown database 'nosuchdb'"],
    ),
}  # fmt: skip


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBSALERT_SYS_PASSWORD", "Sys-S3cret-pw!")


write = partial(config_errors.write, good=GOOD)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["validate", "check"])
def test_a_yaml_or_structure_mistake_names_file_and_line_exits_2_and_sends_nothing(
    command: str, case: str, tmp_path: Path, slack: SlackSink
) -> None:
    old, new, expected = CASES[case]
    result = assert_refused(command, write(tmp_path, slack, old, new), slack, expected)
    assert "Db-S3cret" not in result.output


def test_the_good_config_validates(tmp_path: Path, slack: SlackSink) -> None:
    result = invoke("validate", "-c", str(write(tmp_path, slack)))
    assert result.exit_code == 0, result.output


def test_a_problem_inside_an_anchor_is_reported_once_at_its_own_line(
    tmp_path: Path, slack: SlackSink
) -> None:
    path = write(
        tmp_path, slack, "rules:\n",
        "x-shared: &shared {when: !!binary aGk=}\nrules:\n",
    )  # fmt: skip
    path.write_text(path.read_text() + "x-again: [*shared, *shared]\n")

    result = invoke("validate", "-c", str(path))

    assert_config_error(result, ["cbsalert.yaml:11: x-shared.when: the tag !!binary"])
    assert result.stderr.count("!!binary") == 1


def test_anchors_aliases_and_merge_keys_are_read_as_yaml_means_them(
    tmp_path: Path, slack: SlackSink
) -> None:
    path = write(tmp_path, slack, "rules:\n", "")
    path.write_text(
        path.read_text().replace(
            "  - id: backup-failed\n    kind: backup_status\n    notify: [ops]\n",
            "",
        )
        + "rules:\n"
        "  - &base {id: backup-failed, kind: backup_status, notify: [ops], severity: warning}\n"
        "  - <<: *base\n"
        "    id: backup-errors\n"
        "    kind: error_count\n"
        "  - <<: [{id: ignored, severity: info}, *base]\n"
        "    id: backup-warnings\n"
        "    kind: warning_count\n"
    )

    config = load_config(path)

    assert [(r.id, r.kind, r.severity, r.notify) for r in config.rules] == [
        ("backup-failed", "backup_status", "warning", ["ops"]),
        ("backup-errors", "error_count", "warning", ["ops"]),
        ("backup-warnings", "warning_count", "info", ["ops"]),
    ]


def test_a_long_watch_list_may_use_an_alias_in_every_entry(
    tmp_path: Path, slack: SlackSink
) -> None:
    # 12,000 values built through aliases: more than ALIAS_BUDGET, fewer than the file holds.
    entries = "".join(f"  - {{login: user-{i}, rules: *all}}\n" for i in range(1, 6_000))
    path = write(
        tmp_path, slack, "  - login: user-alice\n  - login: user-bob\n",
        "  - {login: user-0, rules: &all [backup-failed]}\n" + entries,
    )  # fmt: skip

    assert len(load_config(path).watch) == 6_000


def _memory_cap() -> None:
    cap = 1 << 30  # 1 GiB: the bomb must be refused long before
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


@pytest.mark.parametrize("command", ["validate", "check"])
def test_an_alias_bomb_is_refused_at_once_with_its_line(
    command: str, tmp_path: Path, slack: SlackSink
) -> None:
    path = write(tmp_path, slack)
    path.write_text(path.read_text() + BOMB)

    # The timeout only keeps a regression from hanging the suite; nothing is timed here.
    proc = subprocess.run(
        [sys.executable, "-m", "cbsalert", command, "-c", str(path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, preexec_fn=_memory_cap,
    )  # fmt: skip

    assert proc.returncode == EXIT_CONFIG, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cbsalert.yaml:23: l4[3]: aliases expand to more than 10,000 values" in proc.stderr
    assert slack.requests == []
