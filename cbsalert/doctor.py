"""``cbsalert doctor``: can this setup do its job? Everyone it depends on is asked; nothing is sent.

One line per check: ``✓`` passed, ``✗`` failed (saying what to fix), ``-`` not tested (saying
why). Every check only reads:

* **CBS**: AuthSystemUser, the API's credential self-test. It asks for the same role (Admin or
  API) as the operations a check calls, so a read-only admin is refused here as it would be there.
* **Watched logins**: ListBackupJobMode of yesterday for each named login, the first call a
  check makes for that user; ``User 'x' not found`` names a wrong login. Chosen over
  ListUsers v2 for them: it exists on every server a check can run against (9.1 and later;
  ListUsers v2 is not on old servers and its v1 path is deprecated), and it answers for one
  user instead of listing every user of the server in one answer. ``select`` entries are
  resolved with ListUsers, as a check does (``doctorwatch``).
* **State database**: opened, never created; its schema must be at ``HEAD_REVISION``
  (``check`` would upgrade an SQLite file by itself, but a missing or old database usually
  means ``state:`` is not the database the other commands use).
* **Notifiers**: ``Notifier.probe()`` (Slack ``auth.test`` for a token; SMTP connect,
  STARTTLS or TLS, login, QUIT). A webhook cannot be tested without posting: said, not failed.
* **Heartbeat**: never pinged, since a ping tells the dead man's switch that a run succeeded.

The checks run at the same time: the CBS's in one event loop (within ``cbs.max_concurrency``),
each of the others in a daemon thread with a deadline, so a server that never answers costs
its own line and never keeps the process alive. Exit code: 0 when nothing failed, 3 when the
CBS cannot be used, 1 for any other failure.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import partial
from urllib.parse import urlsplit

from cbsalert.cbs import AUTH_SYSTEM_USER, CbsClient
from cbsalert.config import Config
from cbsalert.errors import (
    EXIT_CBS,
    EXIT_OK,
    EXIT_PARTIAL,
    CbsApiError,
    CbsAuthError,
    CbsConnectError,
    CbsError,
    CbsNotApiError,
    DeliveryError,
    StateError,
    redact,
)
from cbsalert.labels import clip, oneline, plural
from cbsalert.notify import NotifierConfig
from cbsalert.safetext import escape_controls

STEP_TIMEOUT_S = 10.0  # for each network step: a person is waiting for the answer
LINE_MAX = 400


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    UNTESTED = "untested"


MARKS = {Status.OK: "✓", Status.FAILED: "✗", Status.UNTESTED: "-"}


@dataclass(frozen=True)
class Check:
    subject: str
    status: Status
    detail: str
    cbs: bool = False  # a failure that means the CBS cannot be used (exit 3)


# (subject, the check, seconds to wait for it or None for as long as it takes)
Job = tuple[str, Callable[[], list[Check]], float | None]


@dataclass(frozen=True)
class Report:
    checks: list[Check]
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def exit_code(self) -> int:
        failed = [c for c in self.checks if c.status is Status.FAILED]
        if any(c.cbs for c in failed):
            return EXIT_CBS
        return EXIT_PARTIAL if failed else EXIT_OK

    def lines(self) -> list[str]:
        """The lines to print: secrets masked, every string one line of inert text."""
        return [
            f"{MARKS[c.status]} {_inert(redact(c.subject, self.secrets), 120)}: "
            f"{_inert(redact(c.detail, self.secrets), LINE_MAX)}"
            for c in self.checks
        ]


def run_doctor(
    config: Config, *, now: datetime | None = None, step_timeout_s: float = STEP_TIMEOUT_S
) -> Report:
    from cbsalert.pipeline import default_day

    day = default_day(config, now or datetime.now(UTC))
    deadline = 3 * step_timeout_s  # connect, then TLS, then login: each may take a step
    jobs: list[Job] = [
        ("CBS", lambda: asyncio.run(_cbs_checks(config, day, step_timeout_s)), None),
        ("state database", lambda: [_state_check(config)], deadline),
    ]
    for name, notifier in config.notifiers.items():
        job = partial(_notifier_check, name, notifier, step_timeout_s)
        jobs.append((f"{notifier.type} {name}", job, deadline))
    checks = concurrently(jobs)
    if not config.notifiers:
        checks.append(Check("notifiers", Status.UNTESTED, "none configured: alerts reach nobody"))
    if config.heartbeat_url is not None:
        checks.append(
            Check(
                "heartbeat",
                Status.UNTESTED,
                "not pinged: a ping tells the dead man's switch that a run succeeded "
                "(`serve` pings it after each run)",
            )
        )
    return Report(checks, tuple(config.secrets()))


# -- running the checks ---------------------------------------------------------------------------


def concurrently(jobs: Sequence[Job]) -> list[Check]:
    """Run every job in its own daemon thread; the results in the order of ``jobs``. A job
    still running at its deadline is a failed check, and is left behind (a daemon thread
    does not keep the process alive); a job that raises is a failed check, not a traceback."""
    results: list[list[Check] | None] = [None] * len(jobs)

    def run(index: int, subject: str, check: Callable[[], list[Check]]) -> None:
        try:
            results[index] = check()
        except Exception as exc:  # a bug in one check must not hide the others' answers
            failure = f"the check itself failed: {type(exc).__name__}: {exc}"
            results[index] = [Check(subject, Status.FAILED, failure)]

    started = time.monotonic()
    threads = []
    for index, (subject, check, _) in enumerate(jobs):
        thread = threading.Thread(
            target=run, args=(index, subject, check), name=f"doctor: {subject}", daemon=True
        )
        thread.start()
        threads.append(thread)
    checks: list[Check] = []
    for index, ((subject, _, deadline), thread) in enumerate(zip(jobs, threads, strict=True)):
        thread.join(None if deadline is None else max(0.0, started + deadline - time.monotonic()))
        found = results[index]
        if found is None:
            checks.append(Check(subject, Status.FAILED, f"no answer within {deadline:g} s"))
        else:
            checks.extend(found)
    return checks


# -- the CBS --------------------------------------------------------------------------------------


async def _cbs_checks(config: Config, day: date, timeout_s: float) -> list[Check]:
    from cbsalert.doctorwatch import selection_checks
    from cbsalert.fetch import make_client

    cbs = config.cbs
    quick = cbs.model_copy(
        update={"timeout_s": min(cbs.timeout_s, timeout_s), "retries": min(cbs.retries, 1)}
    )
    where = _without_userinfo(cbs.url)
    async with make_client(config.model_copy(update={"cbs": quick})) as client:
        try:
            await client.call(AUTH_SYSTEM_USER, {})
        except CbsError as exc:
            return [
                Check("CBS", Status.FAILED, _cbs_problem(config, where, exc), cbs=True),
                Check("watched logins", Status.UNTESTED, "not checked: the CBS cannot be used"),
            ]
        accepted = f"{where}: system user {cbs.sys_user!r} accepted (AuthSystemUser)"
        errors = await asyncio.gather(*(_read_login(client, e.login, day) for e in config.watch))
        selected = await selection_checks(config, client)
    return [Check("CBS", Status.OK, accepted), *_login_checks(config, errors), *selected]


async def _read_login(client: CbsClient, login: str, day: date) -> CbsError | None:
    try:
        await client.list_backup_jobs(login, day)
    except CbsError as exc:
        return exc
    return None


def _login_checks(config: Config, errors: list[CbsError | None]) -> list[Check]:
    total, found = len(errors), errors.count(None)
    from cbsalert.discovery import named_entries

    failures = [(i, e) for i, e in enumerate(errors) if e is not None]
    unknown = {i for i, e in failures if isinstance(e, CbsApiError) and e.is_unknown_user}
    if failures and not found and not unknown:
        # Every login failed the same way a whole check would: the CBS cannot be used.
        reason = str(failures[0][1])
        detail = f"could not read any of {plural(total, 'watched login')}: {reason}"
        return [Check("watched logins", Status.FAILED, detail, cbs=True)]
    checks = []
    if found:
        exist = "exists" if found == 1 else "exist"
        counted = plural(found, "watched login")
        if found < total:
            counted = f"{found} of {plural(total, 'watched login')}"
        checks.append(Check("watched logins", Status.OK, f"{counted} {exist} on the CBS"))
    written = [i for i, _ in named_entries(config)]  # its index in `watch` as written
    for n, error in failures:
        i = written[n]
        subject = f"watch[{i}] {config.watch[n].login}"
        if n in unknown:
            detail = (
                f"not found on the CBS ({error.message}): correct the login in watch[{i}], "
                "or remove it"
            )
        else:
            detail = f"could not be read: {error}"
        checks.append(Check(subject, Status.FAILED, detail, cbs=isinstance(error, CbsAuthError)))
    return checks


def _cbs_problem(config: Config, where: str, exc: CbsError) -> str:
    """What went wrong with the first call, and the likely fix."""
    if isinstance(exc, CbsApiError):  # AuthSystemUser answers an error only about the login
        return (
            f"{where}: system user {config.cbs.sys_user!r} refused ({exc.message}): check "
            "cbs.sys_user and cbs.sys_password, and that this system user has the Admin or "
            "API role"
        )
    problem = f"{where}: {exc.message}"
    if isinstance(exc, CbsConnectError | CbsNotApiError):
        return problem  # the client already said what to check (wrong path, TLS, refused, ...)
    return f"{problem}: check cbs.url, and that this host can reach the server"


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host).geturl()


# -- the state database and the notifiers -------------------------------------------------------


def _state_check(config: Config) -> Check:
    from cbsalert.state import StateStore
    from cbsalert.state.engine import missing_sqlite_file, safe_url
    from cbsalert.state.schema import HEAD_REVISION

    subject = "state database"
    try:
        store = StateStore(config.state, secrets=config.secrets())
    except StateError as exc:
        return Check(subject, Status.FAILED, exc.user_message)
    where = safe_url(config.state)
    try:
        if missing_sqlite_file(store.engine):
            return Check(
                subject,
                Status.FAILED,
                f"{where} does not exist: is `state:` the database that check and serve "
                "use? `cbsalert db upgrade` creates it",
            )
        store.check_schema()
    except StateError as exc:
        return Check(subject, Status.FAILED, exc.user_message)
    finally:
        store.close()
    return Check(subject, Status.OK, f"{where}: opened, schema at revision {HEAD_REVISION}")


def _notifier_check(name: str, config: NotifierConfig, timeout_s: float) -> list[Check]:
    subject = f"{config.type} {name}"
    notifier = config.model_copy(update={"timeout_s": min(config.timeout_s, timeout_s)}).create(
        name
    )
    try:
        probe = notifier.probe()
    except DeliveryError as exc:
        problem = str(exc).removeprefix(f"{subject}: ")
        return [Check(subject, Status.FAILED, f"{problem}: check notifiers.{name}")]
    finally:
        notifier.close()
    return [Check(subject, Status.OK if probe.tested else Status.UNTESTED, probe.detail)]


def _inert(text: str, length: int) -> str:
    """One line of text that cannot act on a terminal: whitespace runs become a space, any
    other control or format character (ESC, NUL, a bidi override) is shown escaped."""
    return clip(escape_controls(oneline(text)), length)
