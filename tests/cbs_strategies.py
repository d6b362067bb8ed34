"""Hypothesis strategies for what a CBS may send: records of the documented keys mapped to
anything, any top-level ``Data``. Shared by the records tests and the answer-decoding tests."""

from __future__ import annotations

from typing import get_args

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from cbsalert.records import (
    BackupJob,
    BackupSet,
    Destination,
    JobProgress,
    JobReport,
    RestoreJob,
)

MODELS: list[type[BaseModel]] = [
    BackupSet,
    Destination,
    BackupJob,
    JobReport,
    RestoreJob,
    JobProgress,
]

KEYS = sorted(
    {
        alias
        for model in MODELS
        for field in model.model_fields.values()
        for alias in getattr(field.validation_alias, "choices", [])
    }
    | {"running", "id", "start_time", "end_time", "status", "Status", "Message"}
)
TIMES = st.sampled_from(
    ["2024-06-26 11:33:52", "2024-06-26-11-33-52", "2024-06-26 11;34:15", "", " ", "D-1 22:00"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()
    | st.text(max_size=30)
    | TIMES
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=6,
)
records = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)
top_level = json_values | st.lists(records, max_size=4) | records
modest = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_fields_match_their_types(parsed: BaseModel) -> None:
    """A ``str`` field holding ``None`` would crash the rules far from its cause."""
    for name, field in type(parsed).model_fields.items():
        types = get_args(field.annotation) or (field.annotation,)
        assert isinstance(getattr(parsed, name), types), (name, getattr(parsed, name))
