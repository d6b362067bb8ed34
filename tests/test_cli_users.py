"""``cbsalert users``: what is watched, from which entry, and why a user is not; its exit
codes; and ``check`` and ``validate`` with selections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cbsalert.cli import app
from cbsalert.records import safe_id
from tests.conftest import config_dict, write_config

EVIL = "evil\x1b[2J\u202e"
WORLD = {
    "users": [
        {"login": "acme-hq", "owner": "reseller1"},
        {"login": "acme-fs", "owner": "reseller1", "suspended": True},
        {"login": "test-1", "owner": "reseller1"},
        {"login": "beta", "owner": "reseller2", "client_type": "ACB"},
        {"login": EVIL, "owner": "[red]x[/red]"},
    ]
}
WATCH = [{"login": "beta"}, {"select": {"owners": ["reseller1"]}, "exclude": ["test-*"]}]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "160"})
    return result.exit_code, result.stdout, result.stderr


def rows(out: str) -> list[str]:
    """The table's rows: each cell's lines joined."""
    found: list[str] = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 2 and cells[0]:
            found.append(" | ".join(cells))
        elif len(cells) == 2 and found:
            found[-1] += " " + cells[1]
    return found


def setup(make_sim: Any, tmp_path: Path, world: dict[str, Any] = WORLD,
          watch: list[dict[str, Any]] = WATCH, **more: Any) -> str:  # fmt: skip
    sim = make_sim(world)
    path = write_config(tmp_path / "c.yaml", config_dict(sim.url, tmp_path, watch=watch, **more))
    return str(path)


def test_users_says_what_is_watched_from_which_entry_and_why_not(
    make_sim: Any, tmp_path: Path
) -> None:
    code, out, _ = invoke("users", "-c", setup(make_sim, tmp_path))

    assert code == 0
    assert rows(out) == [
        "User | Watched",
        'acme-hq (reseller1) | watched selected by watch[1] (select: {owners: ["reseller1"]})',
        "acme-fs (reseller1) | not watched suspended on the CBS (watch[1] skip_suspended)",
        "test-1 (reseller1) | not watched excluded by 'test-*' (watch[1] exclude)",
        "beta (reseller2) | watched named by watch[0]",
        f"{safe_id(EVIL)} ([red]x[/red]) | not watched its login cannot be used as the CBS "
        "sent it (control characters, '|', or longer than 255 characters)",
    ]
    assert "\x1b" not in out and "\u202e" not in out
    assert out.strip().endswith(
        "5 users on the CBS; watched 2 (1 named, 1 selected); not watched: 1 excluded, "
        "1 suspended, 1 with an unusable login"
    )


def test_users_as_json_and_only_the_ones_not_watched(make_sim: Any, tmp_path: Path) -> None:
    code, out, _ = invoke("users", "-c", setup(make_sim, tmp_path), "--format", "json",
                          "--not-watched")  # fmt: skip

    assert code == 0
    doc = json.loads(out)
    assert doc["listed"] is True and doc["problems"] == []
    assert doc["counts"]["watched"] == 2 and doc["counts"]["excluded"] == 1
    assert [(u["login"], u["status"], u["entry"]) for u in doc["users"]][:2] == [
        ("acme-fs", "suspended", 1), ("test-1", "excluded", 1),
    ]  # fmt: skip
    assert all(not u["watched"] for u in doc["users"])


def test_users_lists_everyone_even_for_a_watch_list_of_named_users(
    make_sim: Any, tmp_path: Path
) -> None:
    path = setup(make_sim, tmp_path, watch=[{"login": "acme-hq"}])
    code, out, _ = invoke("users", "-c", path, "-f", "json")

    assert code == 0
    statuses = {u["login"]: u["status"] for u in json.loads(out)["users"]}
    assert statuses["acme-hq"] == "named" and statuses["test-1"] == "not_selected"


def test_users_on_an_old_server_exits_1_naming_the_entry_and_the_fix(
    make_sim: Any, tmp_path: Path
) -> None:
    path = setup(make_sim, tmp_path, world={**WORLD, "list_users": "none"})
    code, out, _ = invoke("users", "-c", path)

    assert code == 1
    assert (
        'watch[1] (select: {owners: ["reseller1"]}) cannot be resolved: the CBS does not offer '
        "ListUsers v2 (Unsupported API: ListUsers)" in out
    )
    assert "ListUsers did not answer" in out


def test_users_with_wrong_credentials_exits_3(make_sim: Any, tmp_path: Path) -> None:
    path = setup(make_sim, tmp_path, cbs={"sys_password": "wrong"})
    code, _, err = invoke("users", "-c", path)

    assert code == 3 and "Incorrect system username/password" in err


def test_check_counts_the_users_in_json_and_validate_counts_the_selections(
    make_sim: Any, tmp_path: Path
) -> None:
    path = setup(make_sim, tmp_path)
    code, out, _ = invoke("check", "-c", path, "--dry-run", "--date", "2026-11-22",
                          "--format", "json")  # fmt: skip

    assert code == 0
    users = json.loads(out)["users"]
    assert {k: users[k] for k in ("total", "watched", "explicit", "selected", "excluded",
                                  "suspended", "unusable")} == {
        "total": 2, "watched": 2, "explicit": 1, "selected": 1, "excluded": 1, "suspended": 1,
        "unusable": 1,
    }  # fmt: skip
    code, out, _ = invoke("validate", "-c", path)
    assert code == 0 and "1 watched users and 1 selections" in out
