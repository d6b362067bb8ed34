"""`cbsalert report`: the grid of job history from the state database, run in-process on a
SQLite file and on PostgreSQL (history written through the real JobHistory), in text, HTML
and JSON, with its filters and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cbsalert.cli import app
from tests.conftest import config_dict, write_config
from tests.grid_history import ZONE, days, write, yesterday
from tests.state_helpers import db_url as db_url  # the SQLite + PostgreSQL fixture

HOSTILE = "<script>alert(1)</script>\x1b[2J\u202e"


def config(tmp_path: Path, url: str, **overrides: Any) -> Path:
    watch = [{"login": "alice", "owner": "Acme"}, {"login": "bob", "owner": "Acme"},
             {"login": "carol", "owner": "Zed"}, {"login": "newbie"}]  # fmt: skip
    overrides.setdefault("watch", watch)
    raw = config_dict("http://127.0.0.1:9", tmp_path, state=url, timezone=ZONE, **overrides)
    return write_config(tmp_path / "cbsalert.yaml", raw)


def invoke(path: Path, *args: str, columns: int = 80) -> tuple[int, str, str]:
    done = CliRunner().invoke(
        app, ["report", "-c", str(path), *args], env={"COLUMNS": str(columns)}
    )
    return done.exit_code, done.stdout, done.stderr


@pytest.fixture
def filled(tmp_path: Path, db_url: str) -> Path:
    write(db_url, [
        *days("alice", "1", "oooooooooofoom", owner="Acme", name="Docs"),
        *days("alice", "2", "oooooooooooooo", owner="Acme", name="Mail"),
        *days("bob", "1", "ooooooowoooooo", owner="Acme", name="Photos"),
        *days("carol", "7", "nnnonnnnnnonn-", owner="Zed", name="Weekly"),
        *days("carol", "8", "ooooooooooooou", owner="Zed", name="Daily"),
    ])  # fmt: skip
    return config(tmp_path, db_url)


def test_the_text_report_is_worst_first_fits_80_columns_and_names_users_without_history(
    filled: Path,
) -> None:
    code, out, err = invoke(filled, "--days", "7")
    assert code == 0, err
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert lines[0].startswith("Backups on 127.0.0.1, ") and f"to {yesterday()}" in lines[0]
    sets = [line for line in lines if " · " in line and ("✓" in line or "·" in line[50:])]
    # A failed and a missed day in the last 7: the worst row first, 5 of 7 days ok.
    assert "Docs" in sets[0] and sets[0].rstrip().endswith("71%")
    assert re.search(r"^  Acme +3 sets +2 with problems +\d+%$", out, re.MULTILINE)  # whole
    assert "1 watched user has no history for these days (newbie)" in out
    assert lines[-1] == "  cbsalert backfill --days 7"


def test_json_has_the_days_rows_owners_filters_and_users_without_history(filled: Path) -> None:
    code, out, err = invoke(filled, "--format", "json", "--days", "14")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"days", "rows", "owners", "filters", "no_history"}
    assert len(doc["days"]) == 14 and doc["days"][-1] == yesterday().isoformat()
    rows = {(r["login"], r["backup_set_name"]): r for r in doc["rows"]}
    assert set(rows) == {("alice", "Docs"), ("alice", "Mail"), ("bob", "Photos"),
                         ("carol", "Weekly"), ("carol", "Daily")}  # fmt: skip
    docs = rows[("alice", "Docs")]
    assert docs["cells"][-4:] == ["failed", "ok", "ok", "missed"] and docs["failures"] == 2
    assert docs["rate"] == pytest.approx(12 / 14)
    # A weekly set's days without a job are "not due"; the day carol could not be checked is
    # "not checked" for both of her sets.
    assert rows[("carol", "Weekly")]["cells"][:3] == ["not_due", "not_due", "not_due"]
    assert rows[("carol", "Weekly")]["cells"][-1] == "unchecked"
    assert rows[("carol", "Daily")]["cells"][-1] == "unchecked"
    assert [o["owner"] for o in doc["owners"]] == ["Acme", "Zed"]
    assert doc["no_history"] == ["newbie"]
    assert doc["filters"] == {"owner": None, "logins": [], "only_problems": False}


def test_filters_narrow_by_owner_login_glob_and_problems(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    rows = [*days("alice", "1", "oof", owner="Acme"), *days("bob", "1", "ooo", owner="Acme"),
            *days("carol", "1", "ooo", owner="Zed"),
            *days("carl", "1", "oww", owner="Zed")]  # fmt: skip
    write(url, rows)
    path = config(tmp_path, url)

    def logins(*args: str) -> list[str]:
        code, out, err = invoke(path, "-f", "json", "--days", "3", *args)
        assert code == 0, err
        return sorted(r["login"] for r in json.loads(out)["rows"])

    assert logins("--owner", "Zed") == ["carl", "carol"]
    assert logins("--login", "car*") == ["carl", "carol"]
    assert logins("--login", "alice") == ["alice"]
    assert logins("--login", "alice", "--login", "bob") == ["alice", "bob"]
    assert logins("--problems") == ["alice", "carl"]
    assert logins("--owner", "Zed", "--problems") == ["carl"]
    assert logins("--owner", "Nobody") == []


def test_the_html_report_is_one_page_with_hostile_names_escaped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    write(
        url,
        days(HOSTILE, "1", "of", owner="<b>Reseller</b>", name='"><img src=x onerror=alert(1)>'),
    )
    path = config(tmp_path, url, watch=[{"login": HOSTILE}])
    out_file = tmp_path / "report.html"
    code, out, err = invoke(path, "-f", "html", "--days", "7", "--output", str(out_file))
    assert code == 0, err
    html = out_file.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>Reseller" not in html and "\x1b" not in html and "\u202e" not in html
    assert "src=" not in html.replace("src=x", "") and "http" not in html  # self-contained
    assert "report written to" in err and not out


def test_text_output_shows_hostile_names_inert(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    write(url, days(HOSTILE, "1", "of", name="Docs\x00\u202e"))
    code, out, err = invoke(config(tmp_path, url, watch=[{"login": HOSTILE}]), "--days", "7")
    assert code == 0, err
    assert "\x1b" not in out and "\u202e" not in out and "\x00" not in out
    assert "\\x1b[2J" in out


def test_a_wider_terminal_gets_more_days_and_longer_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    write(url, days("a" * 60, "1", "o" * 30, name="N" * 80))
    path = config(tmp_path, url, watch=[{"login": "a" * 60}])
    code, out, _ = invoke(path, "--days", "30", columns=160)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 160 and any(len(line) > 120 for line in lines)


def test_a_missing_state_database_is_exit_4_naming_it_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "state.db"
    code, out, err = invoke(config(tmp_path, f"sqlite:///{db}"))
    assert code == 4
    assert f"no state database at {db}" in err and not out
    assert not db.exists() and not db.parent.exists()


@pytest.mark.parametrize(
    ("args", "overrides", "said"),
    [
        (["--days", "0"], {}, "--days 0: give 1 to 366"),
        (["--days", "30"], {"history_days": 20}, "--days 30: give 1 to 20"),
        ([], {"history_days": 0}, "history_days is 0"),
        (["--send", "weekly", "--owner", "x"], {}, "drop --owner"),
    ],
)
def test_impossible_requests_are_exit_2_saying_what_to_change(
    tmp_path: Path, args: list[str], overrides: dict[str, Any], said: str
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    write(url, [])
    code, _, err = invoke(config(tmp_path, url, **overrides), *args)
    assert code == 2 and said in err, err


def test_an_output_file_that_cannot_be_written_is_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    write(url, days("alice", "1", "o"))
    code, _, err = invoke(config(tmp_path, url), "--output", str(tmp_path / "no" / "dir" / "r.txt"))
    assert code == 2 and "cannot write it" in err


def test_no_history_at_all_says_how_to_get_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    write(url, [])
    code, out, _ = invoke(config(tmp_path, url), "--days", "7")
    assert code == 0
    assert "4 watched users have no history" in out and "cbsalert backfill --days 7" in out
