"""Which users a run watches: the named ones, and those the ``select`` entries choose among
the users ListUsers lists (``resolve_watch``, pure: plain data in, plain data out).

The decisions, each visible in ``WatchReport``'s rows (``cbsalert users``):

* a named entry (``login:``) is always watched, with its own options, even when the CBS
  does not list the user (its check then fails, and says so) or says it is suspended; it
  overrides whatever a selection would give that user;
* otherwise the first ``select`` entry, in file order, that selects a user gives its options
  (``backup_sets``, ``ignore_sets``, ``rules``); one selects a user that matches its
  ``select``, that none of its ``exclude`` patterns names, that is of its ``client_type``
  (listed by ListUsers filtered on that type, and not saying another), and, with
  ``skip_suspended`` (the default), that the CBS does not say is suspended;
* a user none selects is not watched, with the reason of the first entry that matched it
  but left it out (excluded by which pattern, client type, suspended), or "not selected";
* a login unfit to use as sent (control characters, ``|``, longer than an id column: see
  ``records.safe_id``) cannot be asked about nor stored: it is listed, never watched.

``present`` is every login the CBS listed, and every named one: a firing alert of any other
login belongs to a user no longer on the CBS (``reconcile``), known only when ListUsers
answered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cbsalert.cbsusers import CbsUser
from cbsalert.configsections import WatchEntry
from cbsalert.scope import matches

Status = Literal[
    "named", "selected", "excluded", "client_type", "suspended", "not_selected", "unusable",
    "not_listed",
]  # fmt: skip
Indexed = Sequence[tuple[int, WatchEntry]]  # entries with their index in ``watch``


@dataclass(frozen=True)
class Listing:
    """What ListUsers said in this run: every user (the call without a filter), and per
    client type asked for, the logins (as sent) its filtered call listed."""

    users: Sequence[CbsUser]
    of_type: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class UserRow:
    """One user and why it is, or is not, watched; ``entry`` is the ``watch[i]`` that
    decided (None when no entry did)."""

    login: str
    owner: str
    status: Status
    reason: str
    entry: int | None = None

    @property
    def watched(self) -> bool:
        return self.status in ("named", "selected", "not_listed")


@dataclass
class WatchReport:
    """What a run's watch list came to: one row per user, the selections that could not be
    resolved (``problems``), and how many users each selection gave."""

    rows: list[UserRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    listed: bool = False  # ListUsers answered
    per_entry: dict[int, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """The ``users`` numbers of ``check --format json``."""
        by = Counter(row.status for row in self.rows)
        return {
            "watched": sum(1 for row in self.rows if row.watched),
            "explicit": by["named"] + by["not_listed"],
            "selected": by["selected"],
            "excluded": by["excluded"],
            "other_client_type": by["client_type"],
            "suspended": by["suspended"],
            "not_selected": by["not_selected"],
            "unusable": by["unusable"],
            "not_listed": by["not_listed"],
        }

    def empty_selections(self) -> list[int]:
        """The ``watch[i]`` of each selection that selected nobody (a typo in an owner?)."""
        return [i for i, count in self.per_entry.items() if count == 0]


@dataclass
class Resolution:
    """The run's watch list, what it came to, and the logins that keep their alerts
    (``None``: not known, ListUsers did not answer)."""

    entries: list[WatchEntry]
    report: WatchReport
    present: frozenset[str] | None = None


def resolve_watch(named: Indexed, selections: Indexed, listing: Listing | None) -> Resolution:
    """The named entries, then every user a selection gives (in ListUsers' order); with
    ``listing`` None (no selection, or ListUsers failed) the named entries alone."""
    report = WatchReport(listed=listing is not None, per_entry={i: 0 for i, _ in selections})
    by_login = {entry.login: (i, entry) for i, entry in named}
    entries = [entry for _, entry in named]
    if listing is None:
        report.rows = [_named_row(i, e, None) for i, e in named]
        return Resolution(entries, report)
    listed: dict[str, CbsUser] = {}
    for user in listing.users:
        listed.setdefault(user.raw_login, user)
    filled: dict[str, WatchEntry] = {}
    for user in listed.values():
        if user.raw_login in by_login:
            i, entry = by_login[user.raw_login]
            if not entry.owner and user.usable_owner:  # to ask for its restores with
                filled[entry.login] = entry.model_copy(update={"owner": user.usable_owner})
            report.rows.append(_named_row(i, entry, user))
            continue
        row, chosen = _decide(user, selections, listing)
        report.rows.append(row)
        if chosen is not None and row.entry is not None:
            report.per_entry[row.entry] += 1
            entries.append(chosen)
    report.rows += [
        UserRow(e.login, e.owner, "not_listed",
                f"named by watch[{i}], but ListUsers does not list it (its check says why)", i)
        for i, e in named if e.login not in listed
    ]  # fmt: skip
    entries = [filled.get(e.login, e) for e in entries]
    present = frozenset({u.login for u in listed.values()} | by_login.keys())
    return Resolution(entries, report, present)


def _named_row(index: int, entry: WatchEntry, user: CbsUser | None) -> UserRow:
    if user is None:
        return UserRow(entry.login, entry.owner, "named", f"named by watch[{index}]", index)
    reason = f"named by watch[{index}]"
    if user.suspended:
        reason += " (suspended on the CBS; a named user is always checked)"
    return UserRow(entry.login, entry.owner or user.owner, "named", reason, index)


def _decide(
    user: CbsUser, selections: Indexed, listing: Listing
) -> tuple[UserRow, WatchEntry | None]:
    """The row of a user no entry names, and its entry when a selection watches it."""
    if not user.usable:
        return UserRow(
            user.login, user.owner, "unusable",
            "its login cannot be used as the CBS sent it (control characters, '|', or "
            "longer than 255 characters)",
        ), None  # fmt: skip
    left_out: UserRow | None = None
    for i, entry in selections:
        if entry.select is None or not _chosen(entry, user):
            continue
        why = _left_out(i, entry, user, listing)
        if why is not None:
            left_out = left_out or why
            continue
        watched = WatchEntry(
            login=user.raw_login, owner=user.usable_owner, backup_sets=entry.backup_sets,
            ignore_sets=entry.ignore_sets, rules=entry.rules,
        )  # fmt: skip
        row = UserRow(user.login, user.owner, "selected",
                      f"selected by watch[{i}] ({entry.select.describe()})", i)  # fmt: skip
        return row, watched
    if left_out is not None:
        return left_out, None
    return UserRow(user.login, user.owner, "not_selected", "not selected by any entry"), None


def _chosen(entry: WatchEntry, user: CbsUser) -> bool:
    select = entry.select
    if select is None:
        return False
    if select.all:
        return True
    if select.owners is not None and not any(
        pattern == user.owner or matches(pattern, user.owner) for pattern in select.owners
    ):
        return False
    return select.logins is None or any(matches(p, user.raw_login) for p in select.logins)


def _left_out(i: int, entry: WatchEntry, user: CbsUser, listing: Listing) -> UserRow | None:
    """Why selection ``watch[i]``, which matches the user, leaves it out (None: it does not)."""
    pattern = next((p for p in entry.exclude if matches(p, user.raw_login)), None)
    if pattern is not None:
        return UserRow(user.login, user.owner, "excluded",
                       f"excluded by {pattern!r} (watch[{i}] exclude)", i)  # fmt: skip
    wanted = entry.client_type
    if wanted is not None and (
        user.raw_login not in listing.of_type.get(wanted, frozenset())
        or user.client_type not in (None, wanted)
    ):
        said = user.client_type or f"not listed as {wanted}"
        return UserRow(user.login, user.owner, "client_type",
                       f"client type {said}, not {wanted} (watch[{i}] client_type)", i)  # fmt: skip
    if entry.skip_suspended and user.suspended:
        return UserRow(user.login, user.owner, "suspended",
                       f"suspended on the CBS (watch[{i}] skip_suspended)", i)  # fmt: skip
    return None
