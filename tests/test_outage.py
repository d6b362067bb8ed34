"""When the failures of a fetch are the CBS's, not its users' (``cbsalert.outage``): decided
on plain errors, without a server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from cbsalert.cbs_call import CbsCaller
from cbsalert.errors import (
    CbsApiError,
    CbsConnectError,
    CbsNotApiError,
    CbsUnavailableError,
)
from cbsalert.outage import OutageWatch

TIMEOUT = CbsUnavailableError("ListBackupJobMode", "timed out")
NOT_FOUND = CbsNotApiError("ListBackupJobMode", "answered HTTP 404", 404)


@pytest.fixture
def client() -> Iterator[CbsCaller]:
    caller = CbsCaller("http://127.0.0.1:9", "sys", SecretStr("pw"))
    yield caller
    asyncio.run(caller.aclose())


def test_a_refused_connection_before_any_answer_is_the_cbs_down(client: CbsCaller) -> None:
    watch = OutageWatch(client, users=10, give_up=3)
    refused = CbsConnectError("ListBackupSets", "connection refused")
    assert watch.failed(refused) is refused


def test_give_up_wire_failures_before_any_answer_are_the_cbs_down(client: CbsCaller) -> None:
    watch = OutageWatch(client, users=10, give_up=3)
    assert [watch.failed(e) for e in (TIMEOUT, NOT_FOUND)] == [None, None]
    down = watch.failed(TIMEOUT)
    assert isinstance(down, CbsUnavailableError) and down.message == "timed out"


def test_once_the_cbs_has_answered_wire_failures_are_the_users(client: CbsCaller) -> None:
    watch = OutageWatch(client, users=10, give_up=2)
    client.answered = 1
    assert [watch.failed(e) for e in (TIMEOUT, TIMEOUT, TIMEOUT)] == [None, None, None]


def test_an_error_answer_of_the_api_is_never_the_cbs_down(client: CbsCaller) -> None:
    watch = OutageWatch(client, users=2, give_up=1)
    assert watch.failed(CbsApiError("ListBackupJobMode", "Internal error")) is None
    assert watch.all_failed_alike() is None


def test_every_user_failing_the_same_way_is_the_cbs_down_even_after_answers(
    client: CbsCaller,
) -> None:
    watch = OutageWatch(client, users=2, give_up=3)
    client.answered = 5
    watch.failed(NOT_FOUND)
    watch.failed(CbsNotApiError("ListBackupJobMode", "answered HTTP 404", 404))
    down = watch.all_failed_alike()
    assert isinstance(down, CbsUnavailableError) and down.operation == "ListBackupJobMode"


def test_one_user_checked_or_two_ways_of_failing_is_not_an_outage(client: CbsCaller) -> None:
    client.answered = 1
    checked = OutageWatch(client, users=3, give_up=3)
    checked.succeeded()
    checked.failed(NOT_FOUND)
    checked.failed(NOT_FOUND)
    assert checked.all_failed_alike() is None
    mixed = OutageWatch(client, users=2, give_up=3)
    mixed.failed(NOT_FOUND)
    mixed.failed(TIMEOUT)
    assert mixed.all_failed_alike() is None
