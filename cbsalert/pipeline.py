"""One run: config -> fetch -> evaluate -> reconcile with state -> render -> deliver -> record.

``run_once`` is the only way a check happens: ``check``, ``serve`` and ``demo`` all call it.
The order of writes is what makes a crash harmless: alert transitions and the pending
delivery rows they imply are committed together, *then* each message is sent and marked.
A run killed between a send and its mark sends that one message again next time; nothing
owed is ever lost. ``faults.point`` names the steps where the fault tests kill a run
(cbsalert.devtools.faults; it does nothing in a process not started for such a test).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

from cbsalert.builtin import meta_rule, unchecked_rule
from cbsalert.carryover import CarryOver
from cbsalert.carrystore import CarriedJobs
from cbsalert.cbs import CbsClient
from cbsalert.config import Config
from cbsalert.devtools import faults
from cbsalert.errors import (
    EXIT_CBS,
    EXIT_OK,
    EXIT_PARTIAL,
    CbsAuthError,
    CbsUnavailableError,
    DeliveryError,
    redact,
    redact_url,
)
from cbsalert.evaluate import Evaluator
from cbsalert.fetch import Consume, FetchResult, Progress, fetch_day, make_client
from cbsalert.model import AlertEvent, AlertState, CheckError, Finding
from cbsalert.notify import MessageContext, Notifier, Parts, build_context
from cbsalert.rules import RuleBase
from cbsalert.state import PlanDeliveries, StateStore, holder_id, open_store

log = logging.getLogger(__name__)

HISTORY_DAYS = 14


@dataclass
class RunResult:
    """What a run did; ``to_json`` is the ``--format json`` document."""

    day: date
    timezone: str
    dry_run: bool
    users_total: int
    api_calls: int = 0  # operations asked for; retried attempts are in api_retries
    api_retries: int = 0
    calls_by_operation: dict[str, int] = field(default_factory=dict)
    api_errors_by_operation: dict[str, int] = field(default_factory=dict)
    events: list[AlertEvent] = field(default_factory=list)
    errors: list[CheckError] = field(default_factory=list)
    fatal: str | None = None
    fatal_reason: str | None = None
    skipped: str | None = None  # set when another instance had already done this run
    deliveries_sent: int = 0
    deliveries_failed: int = 0
    duration_s: float = 0.0
    state_s: float = 0.0

    @property
    def users_checked(self) -> int:
        failed = {e.login for e in self.errors}
        return 0 if self.fatal else self.users_total - len(failed)

    @property
    def users_unchecked(self) -> int:
        """Watched users this run could not check (all of them when the CBS was unusable)."""
        return self.users_total - self.users_checked

    @property
    def exit_code(self) -> int:
        if self.fatal:
            return EXIT_CBS
        return EXIT_PARTIAL if self.errors else EXIT_OK

    @property
    def reported(self) -> list[AlertEvent]:
        """Events worth showing: every alert firing after the run (with evidence this day or
        not; its ``date`` is the day of its latest evidence), and what resolved in it."""
        return [e for e in self.events if e.state != "firing" or e.finding.firing]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(get_args(AlertState), 0)
        for event in self.reported:
            out[event.state] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "timezone": self.timezone,
            "dry_run": self.dry_run,
            "api_calls": self.api_calls,
            "api_retries": self.api_retries,
            "users": {"total": self.users_total, "checked": self.users_checked},
            "alerts": [e.to_dict() for e in self.reported],
            "errors": [e.to_dict() for e in self.errors],
            "fatal": self.fatal,
            "deliveries": {"sent": self.deliveries_sent, "failed": self.deliveries_failed},
            "calls_by_operation": dict(self.calls_by_operation),
            "duration_s": round(self.duration_s, 3),
            "state_s": round(self.state_s, 3),  # of which in the state database
        }


def default_day(config: Config, now: datetime) -> date:
    """Yesterday, as a calendar day in the config's time zone."""
    return now.astimezone(config.zone).date() - timedelta(days=1)


def plan_messages(
    config: Config, events: list[AlertEvent], day: date, now: datetime, unchecked: int = 0
) -> Iterator[tuple[str, MessageContext, list[str]]]:
    """Route events to notifiers (a rule's ``notify``) and group them (digest or per alert);
    one message at a time, as the state store writes them. Every message's header says how
    many watched users were ``unchecked`` in this run."""
    for name, notifier in config.notifiers.items():
        mine = [e for e in events if name in e.notify]
        if not mine:
            continue
        groups = [[e] for e in mine] if notifier.group == "per_alert" else [mine]
        for group in groups:
            context = build_context(
                day, config.timezone, group, now, limit=notifier.max_alerts, unchecked=unchecked
            )
            yield name, context, [e.finding.key for e in group]


async def run_once(
    config: Config,
    *,
    day: date | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    notifiers: dict[str, Notifier] | None = None,
    clock: Callable[[], float] = time.monotonic,
    slot: str | None = None,
) -> RunResult:
    """Check one day; raises StateError/LockTimeoutError/ConfigError, never for a CBS fault.

    A real run holds the database's run lock from before the first CBS call to the last
    delivery, so overlapping runs (cron and ``serve``, or two ``serve`` instances) neither
    send twice nor load the CBS twice. ``slot`` names a scheduled run (its fire time): when
    another instance has already done that slot, this run does nothing.
    """
    started = clock()
    now = now or datetime.now(UTC)
    day = day or default_day(config, now)
    result = RunResult(day, config.timezone, dry_run, users_total=len(config.watch))
    store = open_store(config.state, auto_upgrade=not dry_run, secrets=config.secrets())
    try:
        if dry_run:
            await _check(config, store, result, now, progress, clock, plan=None)
            return result
        holder = holder_id()
        with store.run_lock(holder, timeout_s=config.lock_timeout_s, ttl_s=config.lock_ttl_s):
            if slot is not None and not store.claim_slot(slot, holder, now=now):
                result.skipped = f"another instance already ran the check scheduled for {slot}"
                return result
            await _check(
                config, store, result, now, progress, clock,
                plan=lambda events: plan_messages(
                    config, events, result.day, now, unchecked=result.users_unchecked
                ),
            )  # fmt: skip
            _deliver(config, store, result, holder, now, notifiers, clock)
            store.prune(config.retention_days, now)
            if slot is not None:
                store.finish_slot(slot, now=now)
        return result
    finally:
        store.close()
        result.duration_s = clock() - started


async def _check(
    config: Config,
    store: StateStore,
    result: RunResult,
    now: datetime,
    progress: Progress | None,
    clock: Callable[[], float],
    plan: PlanDeliveries | None,
) -> None:
    """Fetch, evaluate and reconcile; with ``plan`` the outcome is written, else only read."""
    day = result.day
    t = clock()
    logins = [e.login for e in config.watch]
    history = store.seen_sets(logins, day - timedelta(days=HISTORY_DAYS))
    carried = CarriedJobs(store)
    carry = CarryOver(config, day, now, carried.load())
    result.state_s += clock() - t
    evaluator = Evaluator(config, now, store.stored_keys, clock)
    fetched = await _fetch(
        config, day, history, progress, result, carry.watch(evaluator.add), carry.judge
    )
    meta, unchecked = meta_rule(config), unchecked_rule(config)
    rules: dict[str, RuleBase] = {r.id: r for r in (*config.rules, meta, unchecked)}
    findings: list[Finding] = []
    if fetched:  # when the CBS is unusable nobody was checked: no user alert moves
        result.errors = fetched.errors
        owners = {e.login: e.owner for e in config.watch}
        evaluator.add_findings(
            unchecked.run_findings(day, owners, fetched.errors, fetched.checked_logins)
        )
        findings = evaluator.finish()
        faults.point("evaluated")
        # a carried job not judged yet is its user's check error (exit 1), not an unchecked
        # user: the user's own day was checked
        result.errors.extend(carry.errors)
    findings.extend(carry.findings)
    result.state_s += evaluator.lookup_s
    findings.append(meta.run_finding(day, result.fatal_reason, redact_url(config.cbs.url)))
    checked = fetched.checked_logins if fetched else set()
    t = clock()
    if plan is not None and fetched:
        carried.remember(carry.running)  # before the alerts: a killed run forgets none
    result.events = store.reconcile(
        findings, rules, day=day, now=now, checked_logins=checked,
        sets_on_cbs=evaluator.sets_on_cbs, dry_run=plan is None, plan=plan,
    )  # fmt: skip
    faults.point("reconciled")
    if plan is not None and fetched:
        store.record_sets(day, evaluator.sets_seen)
        carried.forget(carry.done)  # after the verdicts are stored
    result.state_s += clock() - t


async def _fetch(
    config: Config,
    day: date,
    history: dict[str, dict[str, str]],
    progress: Progress | None,
    result: RunResult,
    consume: Consume,
    then: Callable[[CbsClient, set[str]], Awaitable[None]] | None = None,
) -> FetchResult | None:
    """The day's fetch, then ``then`` with the same client and the users it checked."""
    client = make_client(config)
    try:
        fetched = await fetch_day(client, config, day, history, progress, consume)
        if then is not None:
            await then(client, fetched.checked_logins)
        return fetched
    except (CbsAuthError, CbsUnavailableError) as exc:
        result.fatal_reason = redact(str(exc), config.secrets())
        result.fatal = f"the CBS cannot be used: {result.fatal_reason}"
        log.error("%s", result.fatal)
        return None
    finally:
        result.api_calls = client.total_calls
        result.api_retries = sum(client.retries.values())
        result.calls_by_operation = dict(client.calls)
        result.api_errors_by_operation = dict(client.failures)
        await client.aclose()


def _deliver(
    config: Config,
    store: StateStore,
    result: RunResult,
    holder: str,
    now: datetime,
    notifiers: dict[str, Notifier] | None,
    clock: Callable[[], float],
) -> None:
    """Send every owed message; one notifier failing never stops the others."""
    secrets = config.secrets()
    built = notifiers if notifiers is not None else {}
    try:
        for owed in store.claim_owed(holder, max_attempts=config.max_attempts, now=now):
            notifier = built.get(owed.notifier)
            if notifier is None and owed.notifier in config.notifiers:
                notifier = built[owed.notifier] = config.notifiers[owed.notifier].create(
                    owed.notifier
                )
            if notifier is None:
                store.mark_failed(
                    owed.id, "notifier no longer in the config", permanent=True, now=now
                )
                result.deliveries_failed += 1
                continue
            try:
                record = functools.partial(store.mark_parts_sent, owed.id)
                notifier.send(owed.context, Parts(owed.parts_sent, owed.parts_key, record))
            except Exception as exc:  # a notifier bug must not stop the other deliveries
                permanent = isinstance(exc, DeliveryError) and exc.permanent
                text = (
                    str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
                )
                message = redact(text, secrets)
                log.warning("delivery %d to %s failed: %s", owed.id, owed.notifier, message)
                t = clock()
                store.mark_failed(owed.id, message, permanent=permanent, now=now)
                result.state_s += clock() - t
                result.deliveries_failed += 1
                continue
            faults.point("sent")
            t = clock()
            store.mark_sent(owed.id, now=now)
            result.state_s += clock() - t
            result.deliveries_sent += 1
    finally:
        if notifiers is None:
            for notifier in built.values():
                notifier.close()
