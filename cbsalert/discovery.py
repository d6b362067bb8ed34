"""Discovering users: at the start of each run, the watch list's ``select`` entries become
named users, from what ListUsers (v2) says now (``watchlist.resolve_watch`` decides who).

One ListUsers call without a filter lists every user (who is on the CBS at all: a user no
longer listed has its alerts resolved), plus one call per ``client_type`` a selection names
(ListUsers' ``ClientType`` filter). A config without ``select`` entries makes no call.

What a failure means (README "Discovering users"):

* wrong system credentials, or a CBS that cannot be reached: the CBS is unusable for the
  whole run (``CbsAuthError``, ``CbsUnavailableError``; exit 3 and the meta-alert), as when
  the fetch meets them;
* any other failure (a server without ListUsers: "Unsupported API", HTTP 404 on the v2 path;
  another error answer; an answer of the wrong shape or over ``cbs.max_answer_mb``): the
  selections cannot be resolved in this run. The named users are still checked; the run is
  partial (exit 1) with one message naming the entries, the cause and the fix, and the
  built-in ``selection_unresolved`` alert fires. Nothing is resolved for the users a
  selection would have given, since nobody knows who they are.

Here is the I/O; the server is ``config.cbs`` for now. A config with several servers will
call ``discover`` once per server with that server's client and watch list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cbsalert.cbs import CbsClient
from cbsalert.cbs_answer import means_unknown_operation
from cbsalert.config import Config, WatchEntry
from cbsalert.errors import (
    CbsApiError,
    CbsAuthError,
    CbsError,
    CbsNotApiError,
    CbsUnavailableError,
    redact,
)
from cbsalert.fetch import make_client
from cbsalert.runresult import RunResult
from cbsalert.safetext import one_line
from cbsalert.watchlist import Indexed, Listing, Resolution, resolve_watch

log = logging.getLogger(__name__)

LIST_USERS = "ListUsers"


def named_entries(config: Config) -> list[tuple[int, WatchEntry]]:
    """The named entries of a config as loaded, each with its index in ``watch`` as written
    (the ``select`` entries hold the other indices)."""
    taken = {i for i, _ in config.selections}
    free = (i for i in range(len(config.watch) + len(taken)) if i not in taken)
    return [(next(free), entry) for entry in config.watch]


async def listing(client: CbsClient, selections: Indexed) -> Listing:
    """Every user, and the logins of each client type the selections name."""
    everyone = await client.list_users()
    of_type: dict[str, frozenset[str]] = {}
    for client_type in sorted({e.client_type for _, e in selections if e.client_type}):
        typed = await client.list_users(client_type)
        of_type[client_type] = frozenset(u.raw_login for u in typed)
    return Listing(everyone, of_type)


async def discover(config: Config, client: CbsClient, *, ask: bool = False) -> Resolution:
    """The run's watch list; raises ``CbsAuthError``/``CbsUnavailableError`` only. ListUsers
    is asked when a ``select`` entry needs it, or when ``ask`` wants every user listed
    (``cbsalert users``)."""
    named, selections = named_entries(config), config.selections
    if not selections and not ask:
        return resolve_watch(named, [], None)
    try:
        found = await listing(client, selections)
    except (CbsAuthError, CbsUnavailableError):
        raise  # the whole CBS's, not ListUsers': the run cannot go on
    except CbsError as exc:
        resolution = resolve_watch(named, selections, None)
        problem = unresolved(selections, exc, config.secrets())
        log.error("%s", problem)
        resolution.report.problems.append(problem)
        return resolution
    resolution = resolve_watch(named, selections, found)
    report = resolution.report
    for i in report.empty_selections():
        log.warning("%s selects no user on the CBS", label(i, dict(selections)[i]))
    unusable = [row.login for row in report.rows if row.status == "unusable"]
    if unusable:
        shown = ", ".join(unusable[:5])
        log.warning("%d users have a login that cannot be used as sent, and are not watched "
                    "(cbsalert users lists them): %s", len(unusable), shown)  # fmt: skip
    return resolution


def label(index: int, entry: WatchEntry) -> str:
    """``watch[1] (select: all)``: an entry as messages name it."""
    return f"watch[{index}] ({entry.select.describe() if entry.select else 'select'})"


def unresolved(selections: Indexed, exc: CbsError, secrets: Sequence[str]) -> str:
    """One line: which entries, why, and what to do."""
    lacks = (isinstance(exc, CbsApiError) and means_unknown_operation(exc.message, LIST_USERS)) or (
        isinstance(exc, CbsNotApiError) and exc.http_status == 404
    )
    if isinstance(exc, CbsNotApiError) and lacks:
        # not the client's hint about a wrong cbs.url: the other calls reach the API
        said = f"HTTP 404 on /obs/api/json/2/{LIST_USERS}.do"
    else:
        said = one_line(redact(exc.message, list(secrets)))[:300]
    cause = (
        f"the CBS does not offer ListUsers v2 ({said})" if lacks else f"ListUsers failed ({said})"
    )
    fix = (
        "name those users with login: entries instead, or upgrade the CBS to a version with "
        "the v2 ListUsers API"
        if lacks
        else "if it persists, name those users with login: entries instead"
    )
    if not selections:  # `cbsalert users` with only named entries
        return f"The CBS's users cannot be listed: {cause}."
    entries = " and ".join(label(i, e) for i, e in selections)
    return (
        f"{entries} cannot be resolved: {cause}; their users are not checked in this run, "
        f"the named ones are. Fix: {fix}."
    )


async def discover_for_run(config: Config, result: RunResult) -> Resolution:
    """The watch list this run checks, what it came to in ``result``. When the CBS cannot be
    used, ``result.fatal`` says why, and the named users are left (no call is made for them)."""
    if not config.selections:
        resolution = resolve_watch(named_entries(config), [], None)
        result.users_total = len(resolution.entries)
        return resolution
    client = make_client(config)
    try:
        resolution = await discover(config, client)
    except (CbsAuthError, CbsUnavailableError) as exc:
        result.cbs_unusable(exc, config.secrets())
        resolution = resolve_watch(named_entries(config), [], None)
    finally:
        result.count_calls(client)
        await client.aclose()
    result.watch = resolution.report
    result.users_total = len(resolution.entries)
    return resolution
