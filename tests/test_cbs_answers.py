"""The size and the time of one CBS answer are bounded, whatever the server sends.

Each test talks to a hostile CBS (tests/hostile.py) over loopback: a huge answer, a gzip
bomb, a body dripped a byte at a time, a body cut short. An answer over ``cbs.max_answer_mb``
is that call's bad answer (that user's check error), read no further than the cap;
``cbs.timeout_s`` bounds a request from its connection to its last byte.
"""

from __future__ import annotations

import asyncio
import json
import threading
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from cbsalert.cbs import CbsClient
from cbsalert.errors import CbsBadResponseError, CbsUnavailableError
from tests.conftest import SYS_PASSWORD
from tests.hostile import HostileCbs, api_answer, cut_short, drip, gzip_bomb, gzipped, huge

MB = 1_000_000
WORLD: dict[str, Any] = {"users": [{"login": "obm", "backup_sets": [{"id": "1", "name": "Docs"}]}]}
Op = Callable[[CbsClient], Awaitable[Any]]


def list_sets(client: CbsClient) -> Awaitable[Any]:
    return client.list_backup_sets("obm")


def call(server: HostileCbs, op: Op = list_sets, **options: Any) -> Any:
    settings: dict[str, Any] = {"timeout_s": 5.0, "retries": 0, "verify_tls": False, **options}

    async def go() -> Any:
        async with CbsClient(server.url, "system", SecretStr(SYS_PASSWORD), **settings) as client:
            return await op(client)

    return asyncio.run(go())


@pytest.fixture
def server(hostile: Callable[..., HostileCbs]) -> HostileCbs:
    return hostile(WORLD)


# -- size -------------------------------------------------------------------------------------


def test_an_answer_larger_than_the_cap_is_a_bad_answer_naming_the_setting(
    server: HostileCbs,
) -> None:
    server.script(huge(3 * MB), operation="ListBackupSets")
    with pytest.raises(CbsBadResponseError) as caught:
        call(server, max_answer_bytes=MB, retries=2)
    assert type(caught.value) is CbsBadResponseError  # the user's problem, not the server's
    assert "answer larger than 1 MB (cbs.max_answer_mb)" in str(caught.value)
    assert server.count("ListBackupSets") == 1  # not retried: it would be as large again


def test_an_answer_under_the_cap_is_read_whole(server: HostileCbs) -> None:
    sets = [{"ID": str(i), "Name": f"Set {i} " + "x" * 100, "Type": "FILE"} for i in range(5000)]
    server.script(api_answer({"Status": "OK", "Data": sets}), operation="ListBackupSets")
    found = call(server, max_answer_bytes=MB)
    assert [s.id for s in found] == [str(i) for i in range(5000)]


def test_a_gzipped_answer_is_decoded(server: HostileCbs) -> None:
    payload = {"Status": "OK", "Data": [{"ID": "7", "Name": "Zipped", "Type": "FILE"}]}
    server.script(gzipped(payload), operation="ListBackupSets")
    assert [s.name for s in call(server)] == ["Zipped"]


def test_a_gzip_bomb_is_decoded_no_further_than_the_cap(server: HostileCbs) -> None:
    """64 kB on the wire, 64 MB decoded: the client stops at the cap, so its memory never
    holds more than a little over the cap (httpx alone decodes a whole chunk at once)."""
    server.script(gzip_bomb(64 * MB), operation="ListBackupSets")
    tracemalloc.start()
    try:
        with pytest.raises(CbsBadResponseError, match=r"answer larger than 1 MB"):
            call(server, max_answer_bytes=MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB


def test_a_big_answer_is_parsed_off_the_event_loop(
    server: HostileCbs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One huge answer must not stall every other user's requests while it is parsed."""
    parsed_on: list[threading.Thread] = []
    loads = json.loads

    def watched(text: Any, *args: Any, **kwargs: Any) -> Any:
        if len(text) > MB:
            parsed_on.append(threading.current_thread())
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", watched)
    sets = [{"ID": str(i), "Name": "x" * 200, "Type": "FILE"} for i in range(10_000)]
    server.script(api_answer({"Status": "OK", "Data": sets}), operation="ListBackupSets")
    assert len(call(server)) == 10_000
    assert parsed_on and threading.main_thread() not in parsed_on


# -- time -------------------------------------------------------------------------------------


def test_timeout_s_bounds_the_whole_request_even_when_each_byte_comes_in_time(
    server: HostileCbs,
) -> None:
    """A byte every 0.05 s never trips a per-read timeout of 0.5 s; the 11 s answer must."""
    server.script(drip(0.05), operation="ListBackupSets")
    with pytest.raises(CbsUnavailableError, match=r"timed out after 0\.5 s \(cbs\.timeout_s\)"):
        call(server, timeout_s=0.5)


def test_a_body_cut_short_is_a_lost_connection_and_retried(server: HostileCbs) -> None:
    server.script(cut_short(12), operation="ListBackupSets", count=1)
    sets = call(server, retries=1, backoff_s=0)
    assert [s.name for s in sets] == ["Docs"]
    server.script(cut_short(12), operation="ListBackupSets")
    with pytest.raises(CbsUnavailableError, match=r"connection lost.*\(gave up after 2 attempts\)"):
        call(server, retries=1, backoff_s=0)
