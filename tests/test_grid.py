"""The status grid built from job history: cells, rates, order, owners, the text form."""

from __future__ import annotations

from datetime import date

from cbsalert.grid import build_grid
from cbsalert.grid.html import page
from cbsalert.grid.model import report_days
from cbsalert.grid.text import lines
from cbsalert.jobhistory import HistoryJob, Outcome

END = date(2026, 11, 28)
DAYS = report_days(END, 7)


def job(login: str, set_id: str, day: int, outcome: Outcome, *, owner: str = "",
        dest: str | None = None, name: str | None = None) -> HistoryJob:  # fmt: skip
    """A row of ``day`` days before the report's last day."""
    return HistoryJob(
        login=login, backup_set_id=set_id, destination_id=dest, day=DAYS[-1 - day],
        outcome=outcome, owner=owner, backup_set_name=name,
    )  # fmt: skip


def test_a_day_is_the_worst_of_its_destinations_and_jobs() -> None:
    grid = build_grid(
        [job("a", "1", 0, "ok", dest="x"), job("a", "1", 0, "failed", dest="y")], DAYS
    )
    assert grid.rows[0].cells[-1] == "failed"


def test_a_day_without_a_row_is_not_due_when_the_user_was_checked_else_not_checked() -> None:
    rows = [job("a", "daily", d, "ok") for d in range(7)] + [job("a", "weekly", 3, "ok")]
    rows += [job("b", "1", 0, "ok")]
    grid = build_grid(rows, DAYS)
    weekly = next(r for r in grid.rows if r.backup_set_id == "weekly")
    assert weekly.cells == ["not_due"] * 3 + ["ok"] + ["not_due"] * 3
    b = next(r for r in grid.rows if r.login == "b")
    assert b.cells == ["unchecked"] * 6 + ["ok"]


def test_the_rate_counts_only_days_with_a_verdict_and_never_rounds_up() -> None:
    rows = [job("a", "1", d, "ok") for d in range(6)] + [job("a", "1", 6, "running")]
    rows += [job("b", "1", d, "ok") for d in range(5)] + [job("b", "1", 5, "missed")]
    rows += [job("b", "1", 6, "warning")]
    grid = build_grid(rows, DAYS)
    by = {r.login: r for r in grid.rows}
    assert by["a"].rate == 1.0 and by["a"].verdicts == 6
    assert by["b"].rate == 6 / 7
    assert [r.login for r in grid.rows] == ["b", "a"]  # worst first
    text = "\n".join(lines(grid))
    assert " 85%" in text  # 85.7%: floored


def test_owners_are_subtotalled_worst_first_and_filters_narrow() -> None:
    rows = [job(f"r1-{i}", "1", 0, "failed", owner="reseller1") for i in range(3)]
    rows += [job("solo", "1", 0, "ok", owner="reseller2")]
    grid = build_grid(rows, DAYS)
    assert [(o.owner, o.rows, o.problems) for o in grid.owners] == [
        ("reseller1", 3, 3),
        ("reseller2", 1, 0),
    ]
    assert [r.login for r in build_grid(rows, DAYS, owner="reseller2").rows] == ["solo"]
    assert len(build_grid(rows, DAYS, logins=["r1-*"]).rows) == 3
    assert len(build_grid(rows, DAYS, only_problems=True).rows) == 3


def test_the_text_form_fits_80_columns_for_7_days_and_shows_names_inert() -> None:
    rows = [job("x" * 200 + "\x1b[2J", "1", d, "ok", name="Files\u202e") for d in range(7)]
    out = list(lines(build_grid(rows, DAYS), width=80))
    assert all(len(line) <= 80 for line in out), max(out, key=len)
    assert "\x1b" not in "".join(out) and "\u202e" not in "".join(out)
    wide = list(lines(build_grid(rows, report_days(END, 30)), width=140))
    assert all(len(line) <= 140 for line in wide)
    assert wide[0].split()[-31:-1] == [str(d.day) for d in report_days(END, 30)]


def test_no_history_says_how_to_get_it() -> None:
    assert "cbsalert backfill" in "\n".join(lines(build_grid([], DAYS)))


def test_the_html_page_escapes_cbs_names_and_links_users() -> None:
    rows = [job("<script>x</script>", "1", 0, "failed", name="<b>Files</b>", owner="r&d")]
    rows += [job("zed", "2", 0, "ok", owner="other")]
    html = page(build_grid(rows, DAYS), title="Backups", generated="now", user_link=True)
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;b&gt;Files&lt;/b&gt;" in html and "r&amp;d" in html
    assert 'href="user?login=%3Cscript%3Ex%3C/script%3E"' in html
    assert 'title="2026-11-28: failed">✗<' in html
    assert "<th>Owner</th>" in html  # two owners: subtotals shown
