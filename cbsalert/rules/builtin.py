"""The built-in alerts: what cbsalert itself could not see, told like any other alert.

No config lists them, every run evaluates them, and every notifier gets them unless the
config routes them (``meta_alert``, ``unchecked_alert``: ``notify`` and ``severity``):

* ``cbsalert-cbs-unreachable`` (kind ``cbs_unreachable``, the meta-alert): the CBS could not
  be used at all, so no backup was checked;
* ``cbsalert-user-unchecked`` (kind ``user_unchecked``), one per watched user that could not
  be checked. Without it a renamed or deleted login is only an exit code, which nobody
  reads under cron. When the CBS cannot be used nobody was checked, and these neither fire
  nor resolve: the meta-alert speaks for all.

Their evidence is the run itself, not a day (``live``): a later run of the same day that
reaches the CBS, or checks the user, resolves them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

from cbsalert.model import AlertEvent, CheckError, Finding, UserSnapshot
from cbsalert.rules.base import RuleBase, sample_event
from cbsalert.safetext import one_line

if TYPE_CHECKING:  # the config imports the rule kinds: it cannot be imported here
    from cbsalert.config import Config, MetaAlert

META_RULE_ID = "cbsalert-cbs-unreachable"
UNCHECKED_RULE_ID = "cbsalert-user-unchecked"


class CbsUnreachableRule(RuleBase):
    """The meta-alert: the CBS could not be used at all (not a configurable kind)."""

    kind: Literal["cbs_unreachable"] = "cbs_unreachable"
    live: ClassVar[bool] = True
    hint: ClassVar[str] = (
        "Check that the CBS is up and reachable from the cbsalert host, and that the system "
        "user and password are right and not expired; no backup was checked until it is."
    )

    @classmethod
    def samples(cls, evening: datetime) -> list[AlertEvent]:
        rule = cls(id=f"sample-{cls.kind_name()}")
        problem = "the CBS did not answer within 30 s"
        finding = rule.run_finding(evening.date(), problem, "https://cbs.example.com")
        return [sample_event(finding, "new", evening, days=1)]

    def evaluate(self, snap: UserSnapshot, now: datetime) -> list[Finding]:
        return []

    def run_finding(self, day: date, problem: str | None, url: str) -> Finding:
        """Firing with the reason when ``problem`` is set; clear when the CBS answered."""
        summary = (
            f"cbsalert cannot reach the CBS at {url}: {problem}. No backup was checked."
            if problem
            else f"cbsalert can reach the CBS at {url} again."
        )
        return Finding(
            rule=self.id,
            kind=self.kind,
            severity=self.severity,
            firing=problem is not None,
            login="(cbs)",
            day=day,
            summary=summary,
            notify=tuple(self.notify),
        )


class UserUncheckedRule(RuleBase):
    """A watched user could not be checked (not a configurable kind)."""

    kind: Literal["user_unchecked"] = "user_unchecked"
    live: ClassVar[bool] = True
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
        first error of a user that could not be checked, clear for one that was checked."""
        problems: dict[str, str] = {}
        for error in errors:
            problems.setdefault(error.login, one_line(f"{error.operation}: {error.message}"))
        out = []
        for login, owner in owners.items():
            problem = problems.get(login)
            if problem is None and login not in checked:
                continue
            summary = (
                f"cbsalert could not check {login} (none of its backups were checked): {problem}"
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
                    notify=tuple(self.notify),
                )
            )
        return out


def meta_rule(config: Config) -> CbsUnreachableRule:
    """The meta-alert, routed by ``meta_alert`` (default: every notifier, critical)."""
    return _routed(CbsUnreachableRule, META_RULE_ID, config.meta_alert, config)


def unchecked_rule(config: Config) -> UserUncheckedRule:
    """The unchecked-user alert, routed by ``unchecked_alert`` (default: every notifier,
    warning: a blind spot, not a failed backup)."""
    return _routed(UserUncheckedRule, UNCHECKED_RULE_ID, config.unchecked_alert, config)


B = TypeVar("B", CbsUnreachableRule, UserUncheckedRule)


def _routed(kind: type[B], rule_id: str, settings: MetaAlert, config: Config) -> B:
    notify = list(config.notifiers) if settings.notify is None else settings.notify
    return kind(id=rule_id, severity=settings.severity, notify=notify)
