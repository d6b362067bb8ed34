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
from typing import ClassVar, Literal, TypeVar

from cbsalert.config import Config, MetaAlert
from cbsalert.model import CheckError, Finding, UserSnapshot
from cbsalert.rules import RuleBase
from cbsalert.safetext import one_line

META_RULE_ID = "cbsalert-cbs-unreachable"
UNCHECKED_RULE_ID = "cbsalert-user-unchecked"


class CbsUnreachableRule(RuleBase):
    """The meta-alert: the CBS could not be used at all (not a configurable kind)."""

    kind: Literal["cbs_unreachable"] = "cbs_unreachable"
    live: ClassVar[bool] = True

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
        )


class UserUncheckedRule(RuleBase):
    """A watched user could not be checked (not a configurable kind)."""

    kind: Literal["user_unchecked"] = "user_unchecked"
    live: ClassVar[bool] = True

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
