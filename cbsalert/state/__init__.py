"""The state database: alerts, owed messages, the run lock and the history of checks.

One room per job, composed, never inherited::

    engine.py    the URL check, the engine, SQLite's quirks, errors as StateError
    tables.py    the SQLAlchemy tables          schema.py   Alembic glue, HEAD_REVISION
    storage.py   Storage: the engine's transactions, the clock, redaction; what every part takes
    alerts.py    stored alerts and transitions (decisions in cbsalert.reconcile, pure)
    silences.py  silences                        outbox.py   owed deliveries, claimed and marked
    runlock.py   the run lock and scheduled-run slots
    history.py   backup sets seen, each user's last day checked (catch-up)
    carried.py   jobs still running at a check, judged at a later one
    store.py     StateStore: the parts over one Storage, and what spans several parts

Why a ``StateStore`` at all, rather than handing out the parts: a run's reconcile writes
three parts in one transaction, the alert listing reads three, pruning touches them all, and
every command opens, upgrades and closes one database. Those few things live on
``StateStore``; everything else is called on its part (``store.outbox.mark_sent(...)``).
"""

from __future__ import annotations

from cbsalert.state.carried import CarriedJob, CarriedJobs
from cbsalert.state.outbox import DeliveryPlan, OwedDelivery, PlanDeliveries
from cbsalert.state.runlock import HeldLock, holder_id
from cbsalert.state.silences import SilenceNotFoundError
from cbsalert.state.store import StateStore, open_existing_store, open_store

__all__ = [
    "CarriedJob", "CarriedJobs", "DeliveryPlan", "HeldLock", "OwedDelivery", "PlanDeliveries",
    "SilenceNotFoundError", "StateStore", "holder_id", "open_existing_store", "open_store",
]  # fmt: skip
