"""The watch list as written: entries that name a user and entries that select users, and
every mistake in them said at its line."""

from __future__ import annotations

import pytest

from cbsalert.config import Config, parse_config
from cbsalert.errors import ConfigError

HEAD = """\
cbs: {url: "http://cbs.example", sys_user: api, sys_password: pw}
rules:
  - {id: failed, kind: backup_status}
watch:
"""


def parsed(watch: str) -> Config:
    return parse_config(HEAD + watch, "c.yaml")


def problems(watch: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parsed(watch)
    return caught.value.problems


def test_selections_read_naturally_and_are_kept_apart_from_the_named_users() -> None:
    config = parsed(
        """\
  - login: acme-hq
    backup_sets: [Daily]
  - select: all
    exclude: ["test-*", demo]
  - select: {owners: [reseller1, ""]}
    client_type: acb
    skip_suspended: false
    rules: [failed]
  - select: {logins: ["acme-*"], owners: [reseller1]}
"""
    )
    assert [e.login for e in config.watch] == ["acme-hq"]
    assert [i for i, _ in config.selections] == [1, 2, 3]
    assert [e.select.describe() for _, e in config.selections if e.select] == [
        "select: all",
        'select: {owners: ["reseller1", ""]}',
        'select: {owners: ["reseller1"], logins: ["acme-*"]}',
    ]
    _, typed = config.selections[1]
    assert (typed.client_type, typed.skip_suspended, typed.rules) == ("ACB", False, ["failed"])
    # a step of a run narrows `watch` by copying the config: the selections stay
    assert config.model_copy(update={"watch": []}).selections == config.selections


def test_a_config_may_select_users_only() -> None:
    config = parsed("  - select: all\n")
    assert config.watch == [] and len(config.selections) == 1


def test_every_mistake_in_a_watch_entry_is_said_at_its_line() -> None:
    said = problems(
        """\
  - login: a
    exclude: [x]
  - select: {all: true, owners: [x]}
  - select: everyone
  - {}
  - select: all
    login: b
  - select: {logins: []}
  - select: all
    client_type: mobile
  - select: {owners: [r1]}
    owner: r1
"""
    )
    assert said[0] == "c.yaml:5: watch[0]: exclude only applies to a select entry"
    assert said[1].startswith("c.yaml:7: watch[1].select: all: true selects every user")
    assert said[2].startswith("c.yaml:8: watch[2].select: 'everyone': write select: all, or")
    assert said[3].startswith("c.yaml:9: watch[3]: name one user (login: NAME) or select users")
    assert said[4].startswith("c.yaml:10: watch[4]: an entry either names one user (login) or")
    assert said[5].startswith("c.yaml:12: watch[5].select.logins: List should have at least 1")
    assert said[6] == "c.yaml:14: watch[6].client_type: Input should be 'OBM' or 'ACB'"
    assert said[7].startswith("c.yaml:15: watch[7]: an entry either names one user")
    assert len(said) == 8


def test_a_selections_unknown_rule_is_said_at_its_line() -> None:
    said = problems("  - login: a\n  - select: all\n    rules: [failed, nope]\n")
    assert said == ["c.yaml:7: watch[1].rules[1]: unknown rule 'nope'"]


def test_a_login_named_twice_is_still_an_error_with_selections_between() -> None:
    said = problems("  - login: a\n  - select: all\n  - login: a\n")
    assert said == ["c.yaml:7: watch[2].login: login 'a' is watched twice (first at line 5)"]
