"""What one CBS answer says (cbsalert/cbs_answer.py): any status and body decode to ``Data``
or raise the client's own ``CbsError``, and any ``Data`` reads as records, one record, or a
``CbsBadResponseError``: a ValidationError, TypeError or RecursionError escaping would crash
a whole run over one odd answer.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from cbsalert.cbs_answer import decode as _decode
from cbsalert.cbs_answer import record as _record
from cbsalert.cbs_answer import records as _records
from cbsalert.errors import CbsApiError, CbsBadResponseError, CbsError
from tests.cbs_strategies import (
    MODELS,
    assert_fields_match_their_types,
    json_values,
    modest,
    records,
    top_level,
)


@modest
@given(record=records, model=st.sampled_from(MODELS))
def test_any_record_of_documented_keys_parses_or_raises_a_cbs_error(
    record: dict[str, Any], model: type[BaseModel]
) -> None:
    try:
        parsed = _record("Op", record, model)
    except CbsBadResponseError:
        return
    assert isinstance(parsed, model)
    assert_fields_match_their_types(parsed)


@modest
@given(data=top_level, model=st.sampled_from(MODELS))
def test_any_data_parses_as_records_or_one_record_or_raises_a_cbs_error(
    data: Any, model: type[BaseModel]
) -> None:
    try:
        for parsed in _records("Op", data, model):
            assert isinstance(parsed, model)
            assert_fields_match_their_types(parsed)
    except CbsBadResponseError:
        pass
    with suppress(CbsBadResponseError):
        assert isinstance(_record("Op", data, model), model)


bodies = (
    st.binary(max_size=200)
    | st.builds(lambda v: json.dumps(v).encode(), json_values)
    | st.builds(
        lambda status, data, extra: json.dumps({"Status": status, "Data": data, **extra}).encode(),
        st.sampled_from(["OK", "ok", "Error", "", None, 1]) | json_values,
        top_level,
        st.dictionaries(st.sampled_from(["Message", "ExptType"]), json_values),
    )
)


@modest
@given(status=st.sampled_from([200, 201, 204, 302, 400, 404, 408, 429, 500, 502, 503]), body=bodies)
def test_any_answer_decodes_or_raises_a_cbs_error(status: int, body: bytes) -> None:
    with suppress(CbsError):
        _decode("Op", status, body)


def test_absurdly_deep_json_is_a_bad_response_not_a_recursion_error() -> None:
    body = b'{"Status":"OK","Data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(CbsBadResponseError, match="not JSON"):
        _decode("Op", 200, body)


def test_a_status_error_answer_keeps_message_and_exception_type() -> None:
    body = (
        b'{"Status":"Error","ExptType":"c",'
        b'"Message":"[UserCacheManager.NoSuchUserExpt] User \'x\' not found."}'
    )
    with pytest.raises(CbsApiError) as caught:
        _decode("Op", 200, body)
    assert caught.value.is_unknown_user
    assert caught.value.expt_type == "c"
