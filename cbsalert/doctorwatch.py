"""``cbsalert doctor``'s line about the watch list's ``select`` entries: ListUsers asked as a
check's start asks it (``discovery``), and what the selections come to, or why they cannot be
resolved on this server (an old one without ListUsers v2: the fix is named). No line when
the config selects nobody: ListUsers is then never called.
"""

from __future__ import annotations

from cbsalert.cbs import CbsClient
from cbsalert.config import Config
from cbsalert.discovery import discover
from cbsalert.doctor import Check, Status
from cbsalert.errors import CbsAuthError, CbsError
from cbsalert.labels import plural


async def selection_checks(config: Config, client: CbsClient) -> list[Check]:
    if not config.selections:
        return []
    try:
        found = await discover(config, client)
    except CbsError as exc:  # no answer in time: the CBS's own line says more
        return [Check("selections", Status.FAILED, f"ListUsers: {exc}",
                      cbs=isinstance(exc, CbsAuthError))]  # fmt: skip
    report = found.report
    if report.problems:
        return [Check("selections", Status.FAILED, " ".join(report.problems))]
    counts = report.counts()
    listed = len(report.rows) - counts["not_listed"]
    given = ", ".join(
        f"watch[{i}] {plural(n, 'user')}" for i, n in sorted(report.per_entry.items())
    )
    detail = (
        f"ListUsers lists {plural(listed, 'user')}; {counts['watched']} watched "
        f"({given}; `cbsalert users` says why the others are not)"
    )
    checks = [Check("selections", Status.OK, detail)]
    for i in report.empty_selections():
        checks.append(Check(f"watch[{i}]", Status.FAILED,
                            "selects no user on the CBS: check its owners and logins"))  # fmt: skip
    return checks
