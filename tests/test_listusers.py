"""ListUsers on the wire: the simulated CBS's paths, filters and old-server flags, the
client's v2 call and how it reads the ``User`` key (and what it refuses to take for "no
users")."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from cbsalert.cbs import CbsClient
from cbsalert.cbs_answer import decode, users
from cbsalert.cbsusers import CbsUser
from cbsalert.devtools.simulator import Simulator
from cbsalert.errors import CbsApiError, CbsBadResponseError, CbsNotApiError
from tests.conftest import SYS_PASSWORD

WORLD = {
    "users": [
        {"login": "acme-hq", "owner": "reseller1", "user_group": "g1"},
        {"login": "acme-phone", "owner": "reseller1", "client_type": "ACB", "policy_group": "p"},
        {"login": "beta", "suspended": True, "listed_as": {"Alias": "Beta Corp"}},
    ]
}


def post(sim: Simulator, path: str, **params: Any) -> httpx.Response:
    body = {"SysUser": "system", "SysPwd": SYS_PASSWORD, **params}
    return httpx.post(f"{sim.url}/obs/api/json/{path}ListUsers.do", json=body)


def logins(answer: httpx.Response, key: str = "User") -> list[str]:
    return [u["LoginName"] for u in answer.json()[key]]


def test_the_v2_path_answers_under_user_and_the_v1_path_under_data(make_sim: Any) -> None:
    sim = make_sim(WORLD)
    v2, v1 = post(sim, "2/"), post(sim, "")

    assert "Data" not in v2.json() and logins(v2) == ["acme-hq", "acme-phone", "beta"]
    assert logins(v1, "Data") == ["acme-hq", "acme-phone", "beta"]
    record = v2.json()["User"][2]
    assert (record["Owner"], record["Status"], record["ClientType"]) == ("", "SUSPENDED", "OBM")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"ClientType": "ACB"}, ["acme-phone"]),
        ({"ClientType": "obm"}, ["acme-hq", "beta"]),
        ({"searchStr": "ACME"}, ["acme-hq", "acme-phone"]),
        ({"searchStr": "corp"}, ["beta"]),  # its alias
        ({"UserGroupID": "g1"}, ["acme-hq"]),
        ({"PolicyGroupID": "p", "ClientType": "ACB"}, ["acme-phone"]),
        ({"PolicyGroupID": "p", "ClientType": "OBM"}, []),
    ],
)
def test_the_filters_narrow_the_list(
    make_sim: Any, params: dict[str, str], expected: list[str]
) -> None:
    assert logins(post(make_sim(WORLD), "2/", **params)) == expected


def test_login_name_only_sends_the_logins_alone(make_sim: Any) -> None:
    answer = post(make_sim(WORLD), "2/", LoginNameOnly=True)
    assert answer.json()["User"][0] == {"LoginName": "acme-hq"}


@pytest.mark.parametrize(
    ("flags", "v2", "v1"),
    [
        ({"list_users": "v1"}, "error", "ok"),
        ({"list_users": "v1", "missing_path": "404"}, 404, "ok"),
        ({"list_users": "none"}, "error", "error"),
        ({"list_users": "none", "missing_path": "404"}, 404, 404),
    ],
)
def test_an_old_server_lacks_the_v2_path_or_listusers_altogether(
    make_sim: Any, flags: dict[str, str], v2: Any, v1: Any
) -> None:
    sim = make_sim({**WORLD, **flags})

    for path, expected in (("2/", v2), ("", v1)):
        answer = post(sim, path)
        if expected == 404:
            assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]
        elif expected == "error":
            assert answer.json() == {"Status": "Error", "Message": "Unsupported API: ListUsers",
                                     "ExptType": "com.ahsay.cbs.api.a"}  # fmt: skip
        else:
            assert answer.json()["Status"] == "OK"


def test_the_client_calls_the_v2_path_and_reads_the_records(make_sim: Any) -> None:
    sim = make_sim(WORLD)

    async def ask() -> tuple[list[CbsUser], list[CbsUser]]:
        async with CbsClient(sim.url, "system", SecretStr(SYS_PASSWORD)) as client:
            return await client.list_users(), await client.list_users("ACB")

    everyone, phones = asyncio.run(ask())

    assert [c.path for c in sim.calls] == ["/obs/api/json/2/ListUsers.do"] * 2
    assert [c.params.get("ClientType") for c in sim.calls] == [None, "ACB"]
    assert [(u.login, u.owner, u.client_type, u.suspended) for u in everyone] == [
        ("acme-hq", "reseller1", "OBM", False),
        ("acme-phone", "reseller1", "ACB", False),
        ("beta", "", "OBM", True),
    ]
    assert [u.login for u in phones] == ["acme-phone"]


@pytest.mark.parametrize(
    ("flags", "error"),
    [({"list_users": "v1"}, CbsApiError), ({"list_users": "v1", "missing_path": "404"},
                                          CbsNotApiError)],
)  # fmt: skip
def test_the_client_raises_what_an_old_server_answers(
    make_sim: Any, flags: dict[str, str], error: type[Exception]
) -> None:
    sim = make_sim({**WORLD, **flags})

    async def ask() -> list[CbsUser]:
        async with CbsClient(sim.url, "system", SecretStr(SYS_PASSWORD)) as client:
            return await client.list_users()

    with pytest.raises(error):
        asyncio.run(ask())


def body(payload: str) -> Any:
    return users(decode("ListUsers", 200, payload.encode()))


def test_an_answer_with_data_instead_of_user_is_read_too() -> None:
    assert [u.login for u in body('{"Status":"OK","Data":[{"LoginName":"a"}]}')] == ["a"]
    assert body('{"Status":"OK","User":[]}') == []


@pytest.mark.parametrize(
    "payload",
    ['{"Status":"OK"}', '{"Status":"OK","User":null}', '{"Status":"OK","User":""}',
     '{"Status":"OK","User":"none"}', '{"Status":"OK","User":[1]}'],
)  # fmt: skip
def test_an_answer_without_a_list_of_users_is_never_taken_for_no_users(payload: str) -> None:
    with pytest.raises(CbsBadResponseError):
        body(payload)
