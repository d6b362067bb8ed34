"""What one error answer is allowed to decide for the whole run: only what it means.

* "The server lacks ListBackupSets / GetBackupSet" comes only from an answer that says so
  (the unknown-operation answer of an old server, HTTP 404 on that path); an ordinary error
  for one user is that user's check error, whenever it comes.
* "The system credentials are wrong" comes only from the server's answer to AuthSystemUser
  (asked once, when some call answered an error), never from words inside a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from cbsalert.cbs import CbsClient
from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.errors import EXIT_CBS, EXIT_PARTIAL, CbsApiError, CbsAuthError
from cbsalert.pipeline import RunResult, run_once
from tests.conftest import SYS_PASSWORD, config_dict
from tests.fault_world import ALICE, BOB, CAROL, DAY2, NOW2, WORLD
from tests.hostile import HostileCbs, api_error, status

REFUSED = "Incorrect system username/password"
FAILED = "BS_STOP_BY_SYSTEM_ERROR"


def ran(set_id: str, result: str = "BS_STOP_SUCCESS") -> dict[str, Any]:
    return {"set": set_id, "start": "D-1 20:00:00", "end": "D-1 20:30:00", "status": result}


# Alice's set 1 and Bob's set 2 ran; Bob's set 3 never did.
TWO_USERS: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "users": [
        {"login": ALICE, "backup_sets": [{"id": "1", "name": "Docs"}], "jobs": [ran("1", FAILED)]},
        {
            "login": BOB,
            "backup_sets": [{"id": "2", "name": "Mail"}, {"id": "3", "name": "Never ran"}],
            "jobs": [ran("2", FAILED)],
        },
    ],
}
RULES = [
    {"id": "failed", "kind": "backup_status"},
    {"id": "missing", "kind": "missing_backup"},
]


def check(url: str, tmp_path: Path, logins: list[str], **cbs: Any) -> RunResult:
    raw = config_dict(url, tmp_path, watch=[{"login": x} for x in logins], rules=RULES)
    raw["cbs"].update(cbs)
    return asyncio.run(run_once(Config.model_validate(raw), day=DAY2, now=NOW2, dry_run=True))


def firing(result: RunResult) -> set[tuple[str, str, str | None, str | None]]:
    return {
        (e.finding.rule, e.finding.login, e.finding.backup_set_id, e.finding.destination_id)
        for e in result.reported
        if e.finding.firing
    }


def client_for(url: str, password: str = SYS_PASSWORD) -> CbsClient:
    return CbsClient(url, "system", SecretStr(password), retries=0, verify_tls=False)


# -- unsupported only when the answer means it -----------------------------------------------


def test_an_ordinary_error_for_the_first_user_asking_for_sets_is_that_users_check_error(
    hostile: Callable[..., HostileCbs], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = hostile(TWO_USERS)
    server.script(api_error("Internal error"), operation="ListBackupSets", login=ALICE)

    result = check(server.url, tmp_path, [ALICE, BOB])

    assert [(e.login, e.operation, e.message) for e in result.errors] == [
        (ALICE, "ListBackupSets", "Internal error")
    ]
    assert result.users_checked == 1
    assert firing(result) == {
        ("failed", BOB, "2", "21"),
        ("missing", BOB, "3", None),
        ("cbsalert-user-unchecked", ALICE, None, None),  # alice could not be checked
    }
    assert "does not offer" not in caplog.text


def test_an_ordinary_error_for_the_first_set_asked_about_leaves_the_others_destinations(
    hostile: Callable[..., HostileCbs], tmp_path: Path
) -> None:
    """Whoever asks GetBackupSet first gets "not found": that user is not checked, and the
    other one's alert keeps its destination (its key), as on any other day."""
    server = hostile(TWO_USERS)
    server.script(api_error("Backup set '9' not found"), operation="GetBackupSet", count=1)

    result = check(server.url, tmp_path, [ALICE, BOB])

    [error] = result.errors
    assert (error.operation, error.message) == ("GetBackupSet", "Backup set '9' not found")
    checked = BOB if error.login == ALICE else ALICE
    expected = {ALICE: ("failed", ALICE, "1", "11"), BOB: ("failed", BOB, "2", "21")}
    assert expected[checked] in firing(result)
    assert result.exit_code == EXIT_PARTIAL


@pytest.mark.parametrize(
    "answer",
    [status(404, "<h1>Not Found</h1>"), api_error("Unsupported API: GetBackupSet")],
    ids=["HTTP 404 on its path", "the old server's answer"],
)
def test_an_answer_that_means_unknown_operation_falls_back_once(
    answer: Any, hostile: Callable[..., HostileCbs], caplog: pytest.LogCaptureFixture
) -> None:
    server = hostile(TWO_USERS)
    server.script(answer, operation="GetBackupSet")

    async def twice() -> list[Any]:
        async with client_for(server.url) as client:
            return [
                await client.get_destinations(ALICE, "1"),
                await client.get_destinations(BOB, "2"),
            ]

    assert asyncio.run(twice()) == [None, None]
    assert server.count("GetBackupSet") == 1
    assert len([r for r in caplog.records if "does not offer GetBackupSet" in r.getMessage()]) == 1


def test_the_old_servers_words_inside_a_longer_message_are_that_users_error(
    hostile: Callable[..., HostileCbs],
) -> None:
    server = hostile(TWO_USERS)
    message = "Backup set 'Unsupported API: GetBackupSet' not found"
    server.script(api_error(message), operation="GetBackupSet", count=1)

    async def twice() -> Any:
        async with client_for(server.url) as client:
            with pytest.raises(CbsApiError, match="not found"):
                await client.get_destinations(ALICE, "1")
            return await client.get_destinations(BOB, "2")

    assert [d.id for d in asyncio.run(twice())] == ["21"]


# -- wrong credentials only when the server says so -------------------------------------------


def test_the_simulator_answers_auth_system_user_like_the_cbs(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(WORLD)
    assert sim.answer("AuthSystemUser", {"SysUser": "system", "SysPwd": SYS_PASSWORD}) == {
        "Status": "OK"
    }
    refused = sim.answer("AuthSystemUser", {"SysUser": "system", "SysPwd": "nope"})
    assert (refused["Status"], refused["Message"]) == ("Error", REFUSED)


@pytest.mark.parametrize(
    "message", [REFUSED, f"Backup set '{REFUSED}' not found"], ids=["the words", "within a name"]
)
def test_one_calls_refusal_with_good_credentials_is_that_users_check_error(
    message: str, hostile: Callable[..., HostileCbs], tmp_path: Path
) -> None:
    server = hostile(WORLD)
    server.script(api_error(message), operation="ListBackupJobMode", login=BOB)

    result = check(server.url, tmp_path, [ALICE, BOB, CAROL])

    assert result.exit_code == EXIT_PARTIAL
    assert [(e.login, e.message) for e in result.errors] == [(BOB, message)]
    assert result.users_checked == 2
    assert server.count("AuthSystemUser") == 1


def test_wrong_credentials_are_confirmed_once_and_stop_the_run(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(WORLD)
    result = check(sim.url, tmp_path, [ALICE, BOB, CAROL], sys_password="wrong")
    assert result.exit_code == EXIT_CBS
    assert result.fatal is not None and REFUSED in result.fatal
    assert sim.count("AuthSystemUser") == 1


def test_every_operation_error_is_checked_against_the_credentials_at_most_once(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(WORLD)

    async def three_unknown_users() -> list[Any]:
        async with client_for(sim.url) as client:
            calls = (client.list_backup_jobs(u, DAY2) for u in ("x", "y", "z"))
            return await asyncio.gather(*calls, return_exceptions=True)

    errors = asyncio.run(three_unknown_users())
    assert [type(e) for e in errors] == [CbsApiError] * 3
    assert sim.count("AuthSystemUser") == 1


@pytest.mark.parametrize(
    ("message", "raised"),
    [(REFUSED, CbsAuthError), (f"Backup set '{REFUSED}' not found", CbsApiError)],
    ids=["the exact words", "within a name"],
)
def test_without_auth_system_user_only_the_exact_refusal_means_wrong_credentials(
    message: str, raised: type[Exception], hostile: Callable[..., HostileCbs]
) -> None:
    server = hostile(WORLD)
    server.script(api_error("Unsupported API: AuthSystemUser"), operation="AuthSystemUser")
    server.script(api_error(message), operation="ListBackupJobMode")

    async def one() -> None:
        async with client_for(server.url) as client:
            await client.list_backup_jobs(ALICE, DAY2)

    with pytest.raises(CbsApiError) as caught:
        asyncio.run(one())
    assert type(caught.value) is raised
