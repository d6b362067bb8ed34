"""The state database: alerts, owed messages, the run lock and the history of checks."""

from __future__ import annotations

from cbsalert.state.outbox import DeliveryPlan, OwedDelivery, PlanDeliveries
from cbsalert.state.store import (
    SilenceNotFoundError,
    StateStore,
    holder_id,
    open_existing_store,
    open_store,
)

__all__ = [
    "DeliveryPlan", "OwedDelivery", "PlanDeliveries", "SilenceNotFoundError", "StateStore",
    "holder_id", "open_existing_store", "open_store",
]  # fmt: skip
