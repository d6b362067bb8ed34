"""The built-in alerts: what cbsalert itself could not see, told like any other alert.

No config lists them, every run evaluates them, and every notifier gets them unless the
config routes them (``meta_alert``, ``unchecked_alert``: ``notify`` and ``severity``):

* ``cbsalert-cbs-unreachable`` (kind ``cbs_unreachable``, the meta-alert): the CBS could not
  be used at all, so no backup was checked;
* ``cbsalert-user-unchecked`` (kind ``user_unchecked``), one per watched user that could not
  be checked. Without it a renamed or deleted login is only an exit code, which nobody
  reads under cron. When the CBS cannot be used nobody was checked, and these neither fire
  nor resolve: the meta-alert speaks for all;
* ``cbsalert-selection-unresolved`` (kind ``selection_unresolved``): the watch list's
  ``select`` entries could not be resolved (a CBS without ListUsers, or its error), so
  their users were not checked; routed like the unchecked-user alert, a blind spot too.

Their evidence is the run itself, not a day (``live``): a later run of the same day that
reaches the CBS, or checks the user, resolves them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

from cbsalert.labels import days_phrase
from cbsalert.model import AlertEvent, CheckError, Finding, OutageCause, UserSnapshot
from cbsalert.rules.base import RuleBase, sample_event
from cbsalert.safetext import one_line

if TYPE_CHECKING:  # the config imports the rule kinds: it cannot be imported here
    from cbsalert.config import Config, MetaAlert

META_RULE_ID = "cbsalert-cbs-unreachable"
UNCHECKED_RULE_ID = "cbsalert-user-unchecked"
UNRESOLVED_RULE_ID = "cbsalert-selection-unresolved"
# The meta-alert's login: part of its key, so it stays; no message shows it as a user.
SERVER_LOGIN = "(cbs)"
SAMPLE_SERVER = "backup.example.com"


class CbsUnreachableRule(RuleBase):
    """The meta-alert: the CBS could not be used at all (not a configurable kind).

    It is about the server, not a user (``about_server``): its login is the placeholder
    ``(cbs)``, kept because it is part of the stored alert's key (a new one would announce
    a firing meta-alert again on upgrade), and messages name the server instead."""

    kind: Literal["cbs_unreachable"] = "cbs_unreachable"
    live: ClassVar[bool] = True
    what: ClassVar[str] = "CBS unreachable"
    about_server: ClassVar[bool] = True
    hint: ClassVar[str] = (
        "Check that the CBS is up and reachable from the cbsalert host, and that the system "
        "user and password are right and not expired; no backup was checked until it is."
    )

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        rule = cls(id=f"sample-{cls.kind_name()}")
        problem = "ListBackupSets: Incorrect system username/password"
        finding = rule.run_finding(evening.date(), problem, SAMPLE_SERVER, cause="login")
        return [sample_event(finding, "new", evening, days=1)]

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        return []

    def run_finding(
        self,
        day: date,
        problem: str | None,
        server: str,
        *,
        cause: OutageCause = "reach",
        checked: Sequence[date] = (),
        caught_up: Sequence[date] = (),
        not_checked: Sequence[date] = (),
        limit: int = 0,
    ) -> Finding:
        """Firing with the reason when ``problem`` is set, in the words of its ``cause``;
        clear when the CBS answered. ``server`` is the CBS's name (``cbs.name``).

        The days say what the outage cost: ``checked`` the days checked before the CBS
        failed; ``caught_up`` the missed days checked now, ``not_checked`` the ones given up
        (older than ``catch_up_days``, ``limit``), so the "again" message names the days
        nobody looked at."""
        if problem:
            summary = (
                outage_headline(server, cause, problem)
                + ". "
                + (
                    f"Only the backups of {days_phrase(checked)} were checked."
                    if checked
                    else "No backup was checked."
                )
            )
        else:
            summary = f"cbsalert can check the backups on CBS {server} again."
            if caught_up:
                summary += (
                    f" The backups of {days_phrase(caught_up)}, not checked before, are "
                    "checked now."
                )
            if not_checked:
                summary += (
                    f" The backups of {days_phrase(not_checked)} were not checked "
                    f"(catch_up_days: {limit}); cbsalert check --date DAY checks one by hand."
                )
        return Finding(
            rule=self.id,
            kind=self.kind,
            severity=self.severity,
            firing=problem is not None,
            login=SERVER_LOGIN,
            day=day,
            summary=summary,
        )


def outage_headline(server: str, cause: OutageCause, problem: str) -> str:
    """What happened, said as the server: ``cbsalert cannot log in to CBS NAME: wrong system
    user or password (...)``, ``cbsalert cannot reach CBS NAME: ...``, ``CBS NAME answers
    errors: ...``."""
    problem = problem.rstrip(". ")
    if cause == "login":
        return f"cbsalert cannot log in to CBS {server}: wrong system user or password ({problem})"
    if cause == "answers":
        return f"CBS {server} answers errors: {problem}"
    return f"cbsalert cannot reach CBS {server}: {problem}"


class UserUncheckedRule(RuleBase):
    """A watched user could not be checked (not a configurable kind)."""

    kind: Literal["user_unchecked"] = "user_unchecked"
    live: ClassVar[bool] = True
    what: ClassVar[str] = "not checked"
    hint: ClassVar[str] = (
        "If the login was renamed or deleted on the CBS, correct or remove it in the config's "
        "watch list; otherwise look at the error (and the CBS's logs). Until the user is "
        "checked again, no alert about its backups can fire or resolve."
    )

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        rule = cls(id=f"sample-{cls.kind_name()}", severity="warning")
        gone = CheckError("example-gone", "ListBackupSets", "no user named example-gone")
        [finding] = rule.run_findings(evening.date(), {"example-gone": "Example Owner"}, [gone], ())
        return [sample_event(finding, "new", evening, days=1)]

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        return []

    def run_findings(
        self,
        day: date,
        owners: Mapping[str, str],
        errors: Iterable[CheckError],
        checked: Collection[str],
    ) -> list[Finding]:
        """Per watched user (``owners``: login -> owner, in watch order): firing with the
        first error of a user that could not be checked, clear for one that was checked
        (on every day it was due). An error of a day other than ``day`` (a day caught up)
        names it."""
        problems: dict[str, str] = {}
        for error in errors:
            on = f" of {error.day}" if error.day not in (None, day) else ""
            problems.setdefault(
                error.login,
                f"(none of its backups{on} were checked): "
                + one_line(f"{error.operation}: {error.message}"),
            )
        out = []
        for login, owner in owners.items():
            problem = problems.get(login)
            if problem is None and login not in checked:
                continue
            summary = (
                f"cbsalert could not check {login} {problem}"
                if problem is not None
                else f"cbsalert can check {login} again."
            )
            out.append(
                Finding(
                    rule=self.id,
                    kind=self.kind,
                    severity=self.severity,
                    firing=problem is not None,
                    login=login,
                    day=day,
                    owner=owner,
                    summary=summary,
                )
            )
        return out


# The unresolved-selection alert's login: a placeholder of its own, so that it is an entry of
# its own in a message, apart from the meta-alert's.
WATCH_LOGIN = "(watch)"


class SelectionUnresolvedRule(RuleBase):
    """The users of the watch list's ``select`` entries are unknown in this run (not a
    configurable kind). About the server: its login is the placeholder ``(watch)``."""

    kind: Literal["selection_unresolved"] = "selection_unresolved"
    live: ClassVar[bool] = True
    what: ClassVar[str] = "selection unresolved"
    about_server: ClassVar[bool] = True
    hint: ClassVar[str] = (
        "The users of the watch list's select entries are not checked until ListUsers "
        "answers: name them with login: entries, or upgrade the CBS to a version with the "
        "v2 ListUsers API; `cbsalert users` shows what is watched."
    )

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        rule = cls(id=f"sample-{cls.kind_name()}", severity="warning")
        problem = "watch[1] (select: all) cannot be resolved: the CBS does not offer ListUsers"
        finding = rule.run_finding(evening.date(), problem, SAMPLE_SERVER)
        return [sample_event(finding, "new", evening, days=1)]

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        return []

    def run_finding(self, day: date, problem: str | None, server: str) -> Finding:
        """Firing with ``problem`` (one line naming the entries, the cause and the fix);
        clear when every selection was resolved (or none is left)."""
        summary = (
            f"CBS {server}: {problem}"
            if problem
            else f"cbsalert can tell again which users the watch list selects on CBS {server}."
        )
        return Finding(
            rule=self.id, kind=self.kind, severity=self.severity, firing=problem is not None,
            login=WATCH_LOGIN, day=day, summary=summary,
        )  # fmt: skip


def meta_rule(config: Config) -> CbsUnreachableRule:
    """The meta-alert, routed by ``meta_alert`` (default: every notifier, critical)."""
    return _routed(CbsUnreachableRule, META_RULE_ID, config.meta_alert, config)


def unchecked_rule(config: Config) -> UserUncheckedRule:
    """The unchecked-user alert, routed by ``unchecked_alert`` (default: every notifier,
    warning: a blind spot, not a failed backup)."""
    return _routed(UserUncheckedRule, UNCHECKED_RULE_ID, config.unchecked_alert, config)


def unresolved_rule(config: Config) -> SelectionUnresolvedRule:
    """The unresolved-selection alert, routed like the unchecked-user alert."""
    return _routed(SelectionUnresolvedRule, UNRESOLVED_RULE_ID, config.unchecked_alert, config)


def builtin_rules(
    config: Config,
) -> tuple[CbsUnreachableRule, UserUncheckedRule, SelectionUnresolvedRule]:
    """Every built-in alert's rule, routed as the config says."""
    return meta_rule(config), unchecked_rule(config), unresolved_rule(config)


B = TypeVar("B", CbsUnreachableRule, UserUncheckedRule, SelectionUnresolvedRule)


def _routed(kind: type[B], rule_id: str, settings: MetaAlert, config: Config) -> B:
    notify = list(config.notifiers) if settings.notify is None else settings.notify
    return kind(id=rule_id, severity=settings.severity, notify=notify)
