"""Who a run watches, on plain data: the named entries, what each selection gives, and why
every other user is not watched (``watchlist.resolve_watch``); and the ListUsers record read
leniently (``cbsusers.CbsUser``)."""

from __future__ import annotations

from typing import Any

import pytest

from cbsalert.cbsusers import CbsUser
from cbsalert.configsections import WatchEntry
from cbsalert.watchlist import Listing, Resolution, resolve_watch


def user(login: str, owner: str = "", **fields: Any) -> CbsUser:
    return CbsUser.model_validate({"LoginName": login, "Owner": owner, **fields})


def entry(**fields: Any) -> WatchEntry:
    return WatchEntry.model_validate(fields)


def resolve(
    named: list[WatchEntry], selections: list[WatchEntry], users: list[CbsUser] | None,
    of_type: dict[str, frozenset[str]] | None = None,
) -> Resolution:  # fmt: skip
    """``named`` come first in ``watch``, the selections after them."""
    indexed = list(enumerate(named))
    selecting = [(len(named) + i, s) for i, s in enumerate(selections)]
    listing = None if users is None else Listing(users, of_type or {})
    return resolve_watch(indexed, selecting, listing)


def why(found: Resolution) -> dict[str, tuple[str, str]]:
    return {row.login: (row.status, row.reason) for row in found.report.rows}


USERS = [user("acme-hq", "reseller1"), user("acme-fs", "reseller1"), user("beta", "reseller2"),
         user("test-1", "reseller1"), user("own", "")]  # fmt: skip


def test_select_all_watches_every_user_with_the_entrys_options() -> None:
    found = resolve([], [entry(select="all", rules=["failed"], ignore_sets=["Old *"])], USERS)

    assert [e.login for e in found.entries] == ["acme-hq", "acme-fs", "beta", "test-1", "own"]
    assert {(tuple(e.rules or ()), tuple(e.ignore_sets)) for e in found.entries} == {
        (("failed",), ("Old *",))
    }
    assert found.entries[0].owner == "reseller1"
    assert why(found)["beta"] == ("selected", "selected by watch[0] (select: all)")
    assert found.report.counts()["selected"] == 5
    assert found.present == {"acme-hq", "acme-fs", "beta", "test-1", "own"}


def test_owners_and_logins_narrow_and_exclude_says_which_glob() -> None:
    selections = [entry(select={"owners": ["reseller1"], "logins": ["acme-*", "test-*"]},
                        exclude=["test-*"])]  # fmt: skip
    found = resolve([], selections, USERS)

    assert [e.login for e in found.entries] == ["acme-hq", "acme-fs"]
    assert why(found)["test-1"] == ("excluded", "excluded by 'test-*' (watch[0] exclude)")
    assert why(found)["beta"] == ("not_selected", "not selected by any entry")
    counts = found.report.counts()
    assert (counts["watched"], counts["excluded"], counts["not_selected"]) == (2, 1, 2)


def test_an_empty_owner_pattern_selects_the_system_admins_own_users() -> None:
    found = resolve([], [entry(select={"owners": [""]})], USERS)
    assert [e.login for e in found.entries] == ["own"]


def test_a_named_entry_overrides_a_selection_and_takes_the_listed_owner() -> None:
    named = [entry(login="acme-fs", backup_sets=["Daily"], rules=["missing"])]
    found = resolve(named, [entry(select="all", rules=["failed"])], USERS)

    [fs] = [e for e in found.entries if e.login == "acme-fs"]
    assert (fs.backup_sets, fs.rules, fs.owner) == (["Daily"], ["missing"], "reseller1")
    assert [e.login for e in found.entries].count("acme-fs") == 1
    assert found.entries[0].login == "acme-fs"  # named entries first, in config order
    assert why(found)["acme-fs"] == ("named", "named by watch[0]")
    counts = found.report.counts()
    assert (counts["explicit"], counts["selected"], counts["watched"]) == (1, 4, 5)


def test_the_first_selection_that_selects_a_user_gives_its_options() -> None:
    selections = [
        entry(select={"logins": ["acme-*"]}, exclude=["acme-fs"], rules=["acme"]),
        entry(select="all", rules=["everyone"]),
    ]
    found = resolve([], selections, USERS)

    rules = {e.login: e.rules for e in found.entries}
    assert rules["acme-hq"] == ["acme"]
    assert rules["acme-fs"] == ["everyone"]  # excluded by the first, selected by the second
    assert found.report.per_entry == {0: 1, 1: 4}


def test_client_type_needs_the_filtered_listing_and_no_contradicting_record() -> None:
    users = [user("a", ClientType="OBM"), user("b", ClientType="ACB"), user("c"),
             user("d", ClientType="ACB")]  # fmt: skip
    # the server's OBM filter listed a, c and (wrongly) d
    found = resolve([], [entry(select="all", client_type="OBM")], users,
                    {"OBM": frozenset({"a", "c", "d"})})  # fmt: skip

    assert [e.login for e in found.entries] == ["a", "c"]
    assert why(found)["b"] == ("client_type", "client type ACB, not OBM (watch[0] client_type)")
    assert why(found)["d"][0] == "client_type"
    assert found.report.counts()["other_client_type"] == 2


@pytest.mark.parametrize(
    "fields",
    [{"Status": "SUSPENDED"}, {"Status": "suspend"}, {"Status": "Disabled"},
     {"Suspended": True}, {"Suspended": "Y"}, {"Enable": False}, {"Enabled": "false"}],
)  # fmt: skip
def test_a_user_the_cbs_says_is_suspended_is_skipped_unless_the_entry_wants_it(
    fields: dict[str, Any],
) -> None:
    users = [user("paying"), user("late", **fields)]
    skipped = resolve([], [entry(select="all")], users)
    kept = resolve([], [entry(select="all", skip_suspended=False)], users)

    assert [e.login for e in skipped.entries] == ["paying"]
    assert why(skipped)["late"] == ("suspended", "suspended on the CBS (watch[0] skip_suspended)")
    assert [e.login for e in kept.entries] == ["paying", "late"]


@pytest.mark.parametrize(
    "fields",
    [{}, {"Status": "ENABLE"}, {"Status": "LOCKED"}, {"Enable": True}, {"Suspended": "maybe"},
     {"Status": {"nested": 1}}, {"Enable": None}],
)  # fmt: skip
def test_anything_else_is_an_active_user(fields: dict[str, Any]) -> None:
    assert not user("x", **fields).suspended


def test_a_named_user_is_checked_even_when_suspended_or_not_listed() -> None:
    named = [entry(login="late"), entry(login="ghost")]
    found = resolve(named, [entry(select="all")], [user("late", Status="SUSPENDED")])

    assert [e.login for e in found.entries] == ["late", "ghost"]
    assert why(found)["late"][1].startswith("named by watch[0] (suspended on the CBS")
    assert why(found)["ghost"][0] == "not_listed"
    assert found.present == {"late", "ghost"}  # a named login keeps its alerts


def test_without_a_listing_only_the_named_users_are_watched_and_nothing_is_gone() -> None:
    found = resolve([entry(login="a")], [entry(select="all")], None)

    assert [e.login for e in found.entries] == ["a"]
    assert found.present is None
    assert not found.report.listed


def test_hostile_logins_are_listed_never_watched_and_owners_are_cleaned() -> None:
    users = [
        user("evil\x1b[2J\u202e"),
        user("a|b"),
        user("x" * 300),
        user(""),
        user("ok", "Reseller\x00\u202eX"),
        user("ok"),
    ]
    found = resolve([], [entry(select="all")], users)

    assert [(e.login, e.owner) for e in found.entries] == [("ok", "")]  # owner unfit to send
    unusable = [r for r in found.report.rows if r.status == "unusable"]
    assert len(unusable) == 4
    for row in found.report.rows:
        assert "\x1b" not in row.login and "\u202e" not in row.login and len(row.login) <= 255
    assert next(r.owner for r in found.report.rows if r.login == "ok") == "Reseller\ufffd\ufffdX"


def test_a_selection_that_selects_nobody_is_reported() -> None:
    found = resolve([], [entry(select={"owners": ["resellr1"]})], USERS)
    assert found.entries == []
    assert found.report.empty_selections() == [0]
