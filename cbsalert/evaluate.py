"""Evaluate each user as soon as it is fetched, and keep only what reconciliation can use.

Ten thousand users make over a hundred thousand findings, nearly all of them "clear"
about alerts that never fired. A clear finding matters only when its key has a stored
alert (it may resolve it, or it is newer evidence about a resolved one), so clear
findings are sifted in chunks against the stored keys and the rest dropped; a snapshot is
dropped once evaluated. The memory of a check then grows with the problems found, not
with the users watched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from cbsalert.config import Config, WatchEntry
from cbsalert.model import Finding, UserSnapshot
from cbsalert.notjudged import NotJudgedTally
from cbsalert.rules import RuleBase, assess

StoredKeys = Callable[[Collection[str]], set[str]]

SIFT_EVERY = 2000  # clear findings held before asking which keys are stored


def rules_for(config: Config, entry: WatchEntry) -> list[RuleBase]:
    if entry.rules is None:
        return list(config.rules)
    return [r for r in config.rules if r.id in entry.rules]


def sets_seen(snap: UserSnapshot) -> dict[str, str]:
    """The sets a user has, as far as this day shows: remembered for servers without
    ListBackupSets (the ``history`` source of expected sets)."""
    sets = dict(snap.expected_sets) if snap.sets_source in ("server", "config") else {}
    for result in snap.jobs:
        sets.setdefault(result.job.backup_set_id, result.job.backup_set_name)
    return sets


class Evaluator:
    """Takes snapshots one by one (``add``); ``finish`` gives the findings that matter:
    every firing one, and the clear ones whose key has a stored alert, in watch order."""

    def __init__(
        self,
        config: Config,
        now: datetime,
        stored_keys: StoredKeys,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._now = now
        self._stored_keys = stored_keys
        self._clock = clock
        self._entries = {e.login: e for e in config.watch}
        self._findings: list[Finding] = []
        self._clear: list[Finding] = []
        self.sets_seen: dict[str, dict[str, str]] = {}
        self.sets_on_cbs: dict[str, frozenset[str]] = {}  # login -> what ListBackupSets listed
        self.lookup_s = 0.0  # time spent asking the state store
        self.not_judged = NotJudgedTally()  # what the history rules could not judge

    def add(self, snap: UserSnapshot) -> None:
        rules = rules_for(self._config, self._entries[snap.login])
        findings, skipped = assess(snap, rules, self._now)
        self.add_findings(findings)
        for item in skipped:
            self.not_judged.add(item)
        sets = sets_seen(snap)
        if sets:
            self.sets_seen[snap.login] = sets
        if snap.cbs_sets is not None:
            self.sets_on_cbs[snap.login] = snap.cbs_sets

    def add_findings(self, findings: Iterable[Finding]) -> None:
        """Findings about users, sifted like the rules' (the built-in unchecked-user alert
        says "clear" about every user checked: only the ones with a stored alert matter)."""
        for finding in findings:
            (self._findings if finding.firing else self._clear).append(finding)
        if len(self._clear) >= SIFT_EVERY:
            self._sift()

    def finish(self) -> list[Finding]:
        self._sift()
        order = {login: i for i, login in enumerate(self._entries)}
        # Users finish in any order; a stable sort gives the same findings the same order
        # on every run (firing before clear within a user).
        self._findings.sort(key=lambda f: order.get(f.login, -1))
        return self._findings

    def _sift(self) -> None:
        clear, self._clear = self._clear, []
        if not clear:
            return
        started = self._clock()
        stored = self._stored_keys({f.key for f in clear})
        self.lookup_s += self._clock() - started
        self._findings.extend(f for f in clear if f.key in stored)
