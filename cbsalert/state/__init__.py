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
    jobhistory.py  every job a check saw (job_history), kept ``history_days``
    store.py     StateStore: the parts over one Storage, and what spans several parts

Why a ``StateStore`` at all, rather than handing out the parts: a run's reconcile writes
three parts in one transaction, the alert listing reads three, pruning touches them all, and
every command opens, upgrades and closes one database. Those few things live on
``StateStore``; everything else is called on its part (``store.outbox.mark_sent(...)``).

The names below are imported on first use: parsing a config checks its state URL
(``cbsalert.state.engine``) without loading the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names as mypy sees them; at run time, __getattr__ below
    from cbsalert.state.carried import CarriedJob as CarriedJob
    from cbsalert.state.carried import CarriedJobs as CarriedJobs
    from cbsalert.state.jobhistory import JobHistory as JobHistory
    from cbsalert.state.outbox import DeliveryPlan as DeliveryPlan
    from cbsalert.state.outbox import OwedDelivery as OwedDelivery
    from cbsalert.state.outbox import PlanDeliveries as PlanDeliveries
    from cbsalert.state.runlock import HeldLock as HeldLock
    from cbsalert.state.runlock import holder_id as holder_id
    from cbsalert.state.silences import SilenceNotFoundError as SilenceNotFoundError
    from cbsalert.state.store import StateStore as StateStore
    from cbsalert.state.store import open_existing_store as open_existing_store
    from cbsalert.state.store import open_store as open_store

_HOMES = {
    "CarriedJob": "carried", "CarriedJobs": "carried", "DeliveryPlan": "outbox",
    "JobHistory": "jobhistory", "OwedDelivery": "outbox", "PlanDeliveries": "outbox",
    "HeldLock": "runlock", "holder_id": "runlock", "SilenceNotFoundError": "silences",
    "StateStore": "store", "open_existing_store": "store", "open_store": "store",
}  # fmt: skip
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
