"""Async client for the AhsayCBS JSON API.

Every operation is ``POST {url}/obs/api/json/{Operation}.do`` with SysUser/SysPwd in the
JSON body. The HTTP status says little (public clients ignore it); the body's ``Status``
says whether the call worked. Transport errors, timeouts and 5xx answers are retried with
exponential backoff and jitter; a ``Status: Error`` answer is the server's final word and
is not retried.

The system password lives only in the request body built in ``_post``: it is never
logged, never put into an exception and never shown by ``repr``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import ssl
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import certifi
import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from cbsalert.errors import (
    CbsApiError,
    CbsAuthError,
    CbsBadResponseError,
    CbsUnavailableError,
)
from cbsalert.records import BackupJob, BackupSet, Destination, JobProgress, JobReport, RestoreJob

log = logging.getLogger(__name__)

# The read operations cbsalert may call; the simulator refuses to count anything else.
READ_OPERATIONS = (
    "ListBackupSets",
    "GetBackupSet",
    "ListBackupJobMode",
    "GetBackupJobReportSummary",
    "ListRestoreJobStatus",
    "GetBackupJobProgress",
)
# The credential self-test (CBS 9.1 and later) that `cbsalert doctor` calls first. It reads no
# backup data and changes nothing; a check never calls it.
AUTH_SYSTEM_USER = "AuthSystemUser"
# Operations only found under the versioned path.
_V2_OPERATIONS = frozenset({"GetBackupSet"})
# Operations that older servers lack; the caller has a fallback for each.
OPTIONAL_OPERATIONS = frozenset({"ListBackupSets", "GetBackupSet"})

R = TypeVar("R", bound=BaseModel)


class CbsClient:
    """One client per run: it owns the connection pool and the run-wide concurrency bound."""

    def __init__(
        self,
        url: str,
        sys_user: str,
        sys_password: SecretStr,
        *,
        timeout_s: float = 30.0,
        max_concurrency: int = 8,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        retries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.base_url = url.rstrip("/")
        self._sys_user = sys_user
        self._sys_password = sys_password
        self._retries = max(0, retries)
        self._backoff_s = backoff_s
        self._sleep = sleep
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.unsupported: set[str] = set()
        self.supported: set[str] = set()
        self._probe_locks: dict[str, asyncio.Lock] = {}
        verify: ssl.SSLContext | bool = False
        if verify_tls:
            # One context for every lane (loading the CA bundle is not free); httpx 0.28
            # deprecates verify=<path>, so build it the way httpx did.
            if ca_bundle and os.path.isdir(ca_bundle):
                verify = ssl.create_default_context(capath=ca_bundle)
            else:
                verify = ssl.create_default_context(cafile=ca_bundle or certifi.where())
        # One single-connection client per lane, handed out by a queue: the queue is the
        # run-wide concurrency bound, and each pool stays O(1). One pool of N connections
        # scans every connection's socket on each request (httpcore), which cost about half
        # of the client's CPU at 16 connections.
        single = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._clients = [
            httpx.AsyncClient(
                timeout=httpx.Timeout(timeout_s),
                verify=verify,
                limits=single,
                transport=transport,
                headers={"User-Agent": "cbsalert", "Accept": "application/json"},
            )
            for _ in range(max(1, max_concurrency))
        ]
        self._lanes: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self._clients:
            self._lanes.put_nowait(client)

    def __repr__(self) -> str:
        return f"CbsClient(url={self.base_url!r}, sys_user={self._sys_user!r})"

    async def __aenter__(self) -> CbsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # -- operations -------------------------------------------------------------------------

    async def list_backup_sets(self, login: str) -> list[BackupSet] | None:
        """The user's backup sets, or ``None`` when the server does not offer the operation."""
        data = await self._optional("ListBackupSets", {"LoginName": login})
        if data is None:
            return None
        return _records("ListBackupSets", data, BackupSet)

    async def get_destinations(self, login: str, backup_set_id: str) -> list[Destination] | None:
        """The set's destinations (GetBackupSet v2), or ``None`` when not offered."""
        params = {"LoginName": login, "BackupSetID": backup_set_id}
        data = await self._optional("GetBackupSet", params)
        if data is None:
            return None
        if not isinstance(data, dict):
            raise _shape("GetBackupSet", "Data is not an object")
        settings = data.get("DestinationSettings") or {}
        entries = settings.get("DestinationList") if isinstance(settings, dict) else None
        return _records("GetBackupSet", entries or [], Destination)

    async def list_backup_jobs(self, login: str, day: date) -> list[BackupJob]:
        data = await self.call(
            "ListBackupJobMode", {"LoginName": login, "BackupDate": day.isoformat()}
        )
        return _records("ListBackupJobMode", data, BackupJob)

    async def get_job_report(
        self,
        login: str,
        owner: str,
        backup_set_id: str,
        job_id: str,
        destination_id: str | None,
    ) -> JobReport:
        params = {"LoginName": login, "BackupSetID": backup_set_id, "BackupJobID": job_id}
        if owner:
            params["Owner"] = owner
        if destination_id:
            params["DestinationID"] = destination_id
        data = await self.call("GetBackupJobReportSummary", params)
        return _record("GetBackupJobReportSummary", data, JobReport)

    async def list_restore_jobs(self, login: str, owner: str, day: date) -> list[RestoreJob]:
        params = {"LoginName": login, "RestoreDate": day.isoformat()}
        if owner:
            params["Owner"] = owner
        data = await self.call("ListRestoreJobStatus", params)
        return _records("ListRestoreJobStatus", data, RestoreJob)

    async def get_job_progress(
        self, login: str, backup_set_id: str, destination_id: str | None, job_id: str
    ) -> JobProgress:
        params = {"LoginName": login, "BackupSetID": backup_set_id, "BackupJobID": job_id}
        if destination_id:
            params["DestinationID"] = destination_id
        data = await self.call("GetBackupJobProgress", params)
        return _record("GetBackupJobProgress", data, JobProgress)

    # -- transport --------------------------------------------------------------------------

    async def _optional(self, operation: str, params: dict[str, str]) -> Any | None:
        """Call an operation older servers lack; remember (and say once) when it is missing.

        Until one call has shown whether the server offers it, calls wait for that first
        one, so a run against an old server asks once, not once per user in flight.
        """
        if operation in self.unsupported:
            return None
        if operation in self.supported:
            return await self._try_optional(operation, params)
        async with self._probe_locks.setdefault(operation, asyncio.Lock()):
            if operation in self.unsupported:
                return None
            return await self._try_optional(operation, params)

    async def _try_optional(self, operation: str, params: dict[str, str]) -> Any | None:
        try:
            data = await self.call(operation, params)
        except CbsAuthError:
            raise
        except CbsBadResponseError as exc:
            # An old server (or a proxy in front of it) may answer an unknown path with 404.
            if "HTTP 404" not in exc.message or operation in self.supported:
                raise
            self._mark_unsupported(operation, exc.message)
            return None
        except CbsApiError as exc:
            # Once the server has answered the operation, an error is about this call (a
            # set deleted since its job ran), not a sign of a server too old to offer it.
            if exc.is_unknown_user or operation in self.supported:
                raise
            self._mark_unsupported(operation, exc.message)
            return None
        self.supported.add(operation)
        return data

    def _mark_unsupported(self, operation: str, reason: str) -> None:
        if operation not in self.unsupported:
            self.unsupported.add(operation)
            log.warning(
                "the CBS does not offer %s (%s); falling back for the rest of this run",
                operation,
                reason,
            )

    def url_for(self, operation: str) -> str:
        version = "2/" if operation in _V2_OPERATIONS else ""
        return f"{self.base_url}/obs/api/json/{version}{operation}.do"

    async def call(self, operation: str, params: dict[str, str]) -> Any:
        """POST one operation and return its ``Data``; raises a ``CbsError`` subclass.

        ``calls`` counts operations sent (the documented per-run formula); retried
        attempts are counted apart in ``retries``. Both count a request when it gets its
        connection, so one cancelled while waiting for a free lane is not counted."""
        attempt = 0
        while True:
            try:
                return await self._post(operation, params, self.retries if attempt else self.calls)
            except CbsUnavailableError as exc:
                if attempt >= self._retries:
                    self.failures[operation] += 1
                    raise CbsUnavailableError(
                        operation, f"{exc.message} (gave up after {attempt + 1} attempts)"
                    ) from None
                delay = self._backoff_s * (2**attempt) * (0.5 + random.random())
                log.info("%s failed (%s); retrying in %.2fs", operation, exc.message, delay)
                attempt += 1
                await self._sleep(delay)
            except CbsApiError:
                self.failures[operation] += 1
                raise

    async def _post(self, operation: str, params: dict[str, str], count: Counter[str]) -> Any:
        body = {
            "SysUser": self._sys_user,
            "SysPwd": self._sys_password.get_secret_value(),
            **params,
        }
        client = await self._lanes.get()
        count[operation] += 1
        try:
            response = await client.post(self.url_for(operation), json=body)
        except httpx.TimeoutException:
            raise CbsUnavailableError(operation, "timed out") from None
        except httpx.HTTPError as exc:
            # httpx messages name the host at most, never the body.
            reason = str(exc) or type(exc).__name__
            raise CbsUnavailableError(operation, f"cannot connect: {reason}") from None
        finally:
            self._lanes.put_nowait(client)
        return _decode(operation, response)


def _decode(operation: str, response: httpx.Response) -> Any:
    status = response.status_code
    if status >= 500 or status in (408, 429):
        raise CbsUnavailableError(operation, f"HTTP {status}: {_snippet(response.text)}")
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: json gives up on absurdly deep nesting instead of raising ValueError.
        raise CbsBadResponseError(
            operation, f"not JSON (HTTP {status}): {_snippet(response.text)}"
        ) from None
    if not isinstance(payload, dict):
        raise _shape(operation, "the answer is not a JSON object")
    if str(payload.get("Status", "")).upper() != "OK":
        message = str(payload.get("Message") or "unknown error")[:500]
        expt = payload.get("ExptType")
        expt_type = str(expt) if expt is not None else None
        if "incorrect system username/password" in message.lower():
            raise CbsAuthError(operation, message, expt_type)
        if status >= 400 and "Status" not in payload:
            raise CbsBadResponseError(operation, f"HTTP {status}: {_snippet(response.text)}")
        raise CbsApiError(operation, message, expt_type)
    return payload.get("Data")


def _snippet(text: str) -> str:
    return " ".join(text[:200].split())


def _shape(operation: str, problem: str) -> CbsBadResponseError:
    return CbsBadResponseError(operation, f"unexpected answer: {problem}")


def _record(operation: str, data: Any, model: type[R]) -> R:
    if not isinstance(data, dict):
        raise _shape(operation, f"Data is {type(data).__name__}, expected an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _shape(operation, f"{exc.error_count()} invalid field(s)") from None


def _records(operation: str, data: Any, model: type[R]) -> list[R]:
    if data is None or data == "":
        return []
    if isinstance(data, dict):
        # A single record where a list belongs: seen from proxies that unwrap one-element lists.
        data = [data]
    if not isinstance(data, list):
        raise _shape(operation, f"Data is {type(data).__name__}, expected a list")
    return [_record(operation, item, model) for item in data]
