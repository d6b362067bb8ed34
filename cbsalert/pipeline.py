"""One run: config -> fetch -> evaluate -> reconcile with state -> render -> deliver -> record.

A run checks yesterday and, oldest first, the days it missed before it (``catchup``), each
fetched and evaluated on its own (``daycheck``) and all reconciled in one go.

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
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime

from cbsalert.carryover import CarryOver
from cbsalert.catchup import advance, plan_days, with_run_findings, yesterday
from cbsalert.cbs import CbsClient
from cbsalert.config import Config
from cbsalert.daycheck import DayChecks
from cbsalert.devtools import faults
from cbsalert.discovery import discover_for_run
from cbsalert.errors import CbsAuthError, CbsUnavailableError, DeliveryError, redact
from cbsalert.fetch import Consume, FetchResult, Progress, fetch_day, make_client
from cbsalert.historystep import RunHistory
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import MessageContext, Notifier, NotifierConfig, Parts, build_context
from cbsalert.rules import RuleBase, builtin_rules
from cbsalert.runresult import RunResult as RunResult  # re-exported: its home until now
from cbsalert.state import HeldLock, PlanDeliveries, StateStore, holder_id, open_store

log = logging.getLogger(__name__)


def default_day(config: Config, now: datetime) -> date:
    """Yesterday, as a calendar day in the config's time zone."""
    return yesterday(now, config.zone)


def plan_messages(
    config: Config,
    events: list[AlertEvent],
    day: date,
    now: datetime,
    unchecked: int = 0,
    days: Sequence[date] = (),
    not_checked: Sequence[date] = (),
    backups_checked: bool = True,
) -> Iterator[tuple[str, MessageContext, list[str]]]:
    """Route events to notifiers (a rule's ``notify``; ``_hears``) and group them (digest or
    per alert); one message at a time, as the state store writes them. Every message's
    header says how many watched users were ``unchecked`` in this run, which ``days`` it
    checked and which missed days it did ``not_checked``, or that it checked no backups at
    all (``backups_checked``: the CBS could not be used), and names the server."""
    routes = {r.id: r.notify for r in (*config.rules, *builtin_rules(config))}
    for name, notifier in config.notifiers.items():
        mine = [e for e in events if _hears(e, name, notifier, routes)]
        if not mine:
            continue
        groups = [[e] for e in mine] if notifier.group == "per_alert" else [mine]
        for group in groups:
            context = build_context(
                day, config.timezone, group, now, limit=notifier.message_limit(),
                unchecked=unchecked, days=days, not_checked=not_checked,
                server=config.cbs.name, console_url=config.cbs.console_url,
                backups_checked=backups_checked,
            )  # fmt: skip
            yield name, context, [e.finding.key for e in group]


def _hears(
    event: AlertEvent, name: str, notifier: NotifierConfig, routes: Mapping[str, Sequence[str]]
) -> bool:
    """Whether notifier ``name`` gets ``event``: what people are told (the event's
    ``notify``), and for a kind that ``wants_all_firing`` also every alert still firing
    unheard, of a rule routed to it, unless silenced."""
    if name in event.notify:
        return True
    return (
        notifier.wants_all_firing
        and event.state == "firing"
        and not event.silenced
        and name in routes.get(event.finding.rule, ())
    )


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
    """Check yesterday (in the config's ``timezone``) and the days missed before it (see
    ``cbsalert.catchup``), or exactly ``day``; raises StateError/LockTimeoutError/
    ConfigError, never for a CBS fault.

    A real run holds the database's run lock from before the first CBS call to the last
    delivery, so overlapping runs (cron and ``serve``, or two ``serve`` instances) neither
    send twice nor load the CBS twice. ``slot`` names a scheduled run (its fire time): when
    another instance has already done that slot, this run does nothing.
    """
    started = clock()
    now = now or datetime.now(UTC)
    limit = config.catch_up_days if day is None else None  # --date: that day, no catch-up
    day = day or default_day(config, now)
    result = RunResult(day, config.timezone, dry_run, users_total=len(config.watch))
    store = open_store(config.state, auto_upgrade=not dry_run, secrets=config.secrets())
    try:
        if dry_run:
            await _check(config, store, result, now, progress, clock, limit, plan=None)
            return result
        holder = holder_id()
        with store.lock.hold(holder, config.lock_timeout_s, config.lock_ttl_s) as lock:
            store.outbox.requeue_interrupted(lock)  # what a run that died left "sending"
            if slot is not None and not store.slots.claim(slot, holder, now=now):
                result.skipped = f"another instance already ran the check scheduled for {slot}"
                return result
            await _check(
                config, store, result, now, progress, clock, limit,
                plan=lambda events: plan_messages(
                    config, events, result.day, now, unchecked=result.users_unchecked,
                    days=result.days or [result.day], not_checked=result.days_not_checked,
                    backups_checked=bool(result.days),
                ),
            )  # fmt: skip
            _deliver(config, store, result, lock, now, notifiers, clock)
            store.prune(config.retention_days, now, history_days=config.history_days)
            if slot is not None:
                store.slots.finish(slot, now=now)
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
    limit: int | None,
    plan: PlanDeliveries | None,
) -> None:
    """Resolve the watch list (``discovery``), fetch and evaluate each day due, oldest first,
    then reconcile them all at once; with ``plan`` the outcome is written, else only read. A
    day whose fetch finds the CBS unusable ends the fetching: the days after it wait for the
    next run."""
    found = await discover_for_run(config, result)
    config = config.model_copy(update={"watch": found.entries})
    logins = [e.login for e in config.watch]
    t = clock()
    through = store.checked.through(logins)
    carried = store.carried
    carry = CarryOver(config, result.day, now, carried.load())
    result.state_s += clock() - t
    days = plan_days(result.day, logins, through, limit)
    result.days_not_checked = days.not_checked
    history = RunHistory(config, store.job_history, write=plan is not None, clock=clock)
    checks = DayChecks(
        config, store, result, now, progress, days, fetch=history.wrap(fetch_checked), clock=clock,
        watch=carry.watch, then=carry.judge,
    )  # fmt: skip
    evidence = [] if result.fatal else await checks.run_all()
    result.days = [e.day for e in evidence]
    meta, unchecked, unresolved = builtin_rules(config)
    rules: dict[str, RuleBase] = {r.id: r for r in (*config.rules, meta, unchecked, unresolved)}
    live: list[Finding] = []
    if not result.fatal:  # the CBS failed this run: no user is told apart from the others
        owners = {e.login: e.owner for e in config.watch}
        everyone = {login for e in evidence for login in e.checked_logins}
        live += checks.sift(unchecked.run_findings(result.day, owners, result.errors, everyone))
        problem = " ".join(result.watch_problems) or None
        live.append(unresolved.run_finding(result.day, problem, config.cbs.name))
    live.append(
        meta.run_finding(
            result.day, result.fatal_reason, config.cbs.name, cause=result.fatal_cause,
            checked=result.days, caught_up=result.days[:-1], not_checked=days.not_checked,
            limit=limit or 0,
        )
    )  # fmt: skip
    faults.point("evaluated")
    if not result.fatal:
        # a carried job not judged yet is its user's check error (exit 1), not an unchecked
        # user: the user's own day was checked
        result.errors.extend(carry.errors)
    live += carry.findings  # verdicts on jobs of earlier days, announced today
    checked = {e.day: e.checked_logins for e in evidence}
    t = clock()
    if plan is not None and evidence:
        carried.remember(carry.running)  # before the alerts: a killed run forgets none
        history.judged(carry.judged, result)  # its day's rows were written as it was fetched
    result.events = store.reconcile_days(
        with_run_findings(evidence, result.day, live, found.present), rules, now=now,
        dry_run=plan is None, plan=plan,
        checked_through=advance(through, days, checked, catch_up=limit is not None),
    )  # fmt: skip
    faults.point("reconciled")
    if plan is not None:
        checks.record_sets()
        if evidence:
            carried.forget(carry.done)  # after the verdicts are stored
        log.info("job history: %d rows written in %.3f s", history.rows_written, history.write_s)
    result.state_s += clock() - t


async def fetch_checked(
    config: Config,
    day: date,
    history: dict[str, dict[str, str]],
    progress: Progress | None,
    result: RunResult,
    consume: Consume,
    then: Callable[[CbsClient, set[str]], Awaitable[None]] | None = None,
) -> FetchResult | None:
    """The day's fetch, then ``then`` with the same client and the users it checked; None
    (with ``result.fatal`` said) when the CBS cannot be used. ``backfill`` fetches with it
    too."""
    client = make_client(config)
    try:
        fetched = await fetch_day(client, config, day, history, progress, consume)
        if then is not None:
            await then(client, fetched.checked_logins)
        return fetched
    except (CbsAuthError, CbsUnavailableError) as exc:
        result.cbs_unusable(exc, config.secrets())
        return None
    finally:
        result.count_calls(client)  # added up over the days of a run: one client per day
        await client.aclose()


def _deliver(
    config: Config,
    store: StateStore,
    result: RunResult,
    lock: HeldLock,
    now: datetime,
    notifiers: dict[str, Notifier] | None,
    clock: Callable[[], float],
) -> None:
    """Send every owed message; one notifier failing never stops the others."""
    secrets = config.secrets()
    built = notifiers if notifiers is not None else {}
    try:
        for owed in store.outbox.claim_owed(lock, max_attempts=config.max_attempts, now=now):
            notifier = built.get(owed.notifier)
            if notifier is None and owed.notifier in config.notifiers:
                notifier = built[owed.notifier] = config.notifiers[owed.notifier].create(
                    owed.notifier
                )
            if notifier is None:
                store.outbox.mark_failed(
                    owed.id, "notifier no longer in the config", permanent=True
                )
                result.deliveries_failed += 1
                continue
            try:
                record = functools.partial(store.outbox.mark_parts_sent, owed.id)
                notifier.send(owed.context, Parts(owed.parts_sent, owed.parts_key, record))
            except Exception as exc:  # a notifier bug must not stop the other deliveries
                permanent = isinstance(exc, DeliveryError) and exc.permanent
                text = (
                    str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
                )
                message = redact(text, secrets)
                log.warning("delivery %d to %s failed: %s", owed.id, owed.notifier, message)
                t = clock()
                store.outbox.mark_failed(owed.id, message, permanent=permanent)
                result.state_s += clock() - t
                result.deliveries_failed += 1
                continue
            faults.point("sent")
            t = clock()
            store.outbox.mark_sent(owed.id, now=now)
            result.state_s += clock() - t
            result.deliveries_sent += 1
    finally:
        if notifiers is None:
            for notifier in built.values():
                notifier.close()
