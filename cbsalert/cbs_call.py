"""Calling the AhsayCBS JSON API: one operation, its retries, and what an error answer means.

Every operation is ``POST {url}/obs/api/json/{Operation}.do`` with SysUser/SysPwd in the
JSON body. The HTTP status says little (public clients ignore it); the body's ``Status``
says whether the call worked. Timeouts, dropped connections and 5xx answers are retried
with exponential backoff and jitter; a connection that cannot be made at all (refused,
DNS, TLS) is retried once only, so a person waiting hears of a CBS that is down at once;
a ``Status: Error`` answer is the server's final word and is not retried.

``timeout_s`` bounds a request from its connection to its last byte, and an answer is read
no further than ``max_answer_bytes`` decoded (cbs_http.py). One error answer decides for the
run only what it means: "wrong system credentials" only when AuthSystemUser says so, "the
server lacks this operation" only from the answer of a server that lacks it.

The system password lives only in the request body built in ``_post``: it is never
logged, never put into an exception and never shown by ``repr``. The typed operations are
``cbs.CbsClient``'s.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal, Self, TypeVar

import httpx
from pydantic import SecretStr

from cbsalert.cbs_answer import decode, means_unknown_operation, says_credentials_refused
from cbsalert.cbs_http import MB, Lanes
from cbsalert.errors import (
    CbsApiError,
    CbsAuthError,
    CbsConnectError,
    CbsError,
    CbsNotApiError,
    CbsUnavailableError,
)

log = logging.getLogger("cbsalert.cbs")  # the client's lines, named as they always were

# The credential self-test (CBS 9.1 and later): `cbsalert doctor` calls it first, and a check
# only after an error answer, to tell wrong system credentials from one user's error. It reads
# no backup data and changes nothing.
AUTH_SYSTEM_USER = "AuthSystemUser"
# Operations only found under the versioned path.
_V2_OPERATIONS = frozenset({"GetBackupSet", "ListUsers"})
# Answers bigger than this are parsed in a thread: one huge answer must not stall the
# event loop, and with it every other user's requests.
_OFF_LOOP_BYTES = 256 * 1024

T = TypeVar("T")
Credentials = Literal["valid", "refused", "unknown"]


def _as_is(data: Any) -> Any:
    return data


class CbsCaller:
    """Calls for one run: the connection pool, the run-wide concurrency bound, the counts."""

    def __init__(
        self,
        url: str,
        sys_user: str,
        sys_password: SecretStr,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        max_answer_bytes: int = 50 * MB,
        max_concurrency: int = 8,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        retries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._lanes = Lanes(
            url,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            max_answer_bytes=max_answer_bytes,
            max_concurrency=max_concurrency,
            verify_tls=verify_tls,
            ca_bundle=ca_bundle,
            transport=transport,
        )
        self.base_url = self._lanes.base_url  # without userinfo: it is shown in messages
        self._sys_user = sys_user
        self._sys_password = sys_password
        self._retries = max(0, retries)
        self._backoff_s = backoff_s
        self._sleep = sleep
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.answered = 0  # answers in the API's own JSON: the URL does reach the CBS
        self.unsupported: set[str] = set()
        self.supported: set[str] = set()
        self._probe_locks: dict[str, asyncio.Lock] = {}
        self._credentials: Credentials | None = None
        self._credentials_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.base_url!r}, sys_user={self._sys_user!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._lanes.aclose()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # -- what one error answer may decide ---------------------------------------------------

    async def _optional(
        self, operation: str, params: dict[str, str], convert: Callable[[Any], T]
    ) -> T | None:
        """Call an operation older servers lack; remember (and say once) when it is missing.

        Until one call has shown whether the server offers it, calls wait for that first
        one, so a run against an old server asks once, not once per user in flight. When
        that call ends without a verdict (a timeout, one user's error), the callers that
        waited go on together rather than each probing in turn.
        """
        if operation not in self.supported and operation not in self.unsupported:
            probe = self._probe_locks.setdefault(operation, asyncio.Lock())
            if not probe.locked():
                async with probe:
                    return await self._try_optional(operation, params, convert)
            async with probe:
                pass  # the verdict (if any) of the call in flight
        if operation in self.unsupported:
            return None
        return await self._try_optional(operation, params, convert)

    async def _try_optional(
        self, operation: str, params: dict[str, str], convert: Callable[[Any], T]
    ) -> T | None:
        try:
            data = await self.call(operation, params, convert)
        except CbsAuthError:
            raise
        except CbsApiError as exc:
            # Only the old server's own answer means "not offered": an ordinary error
            # ("Internal error", "Backup set '9' not found") is about this user's call.
            if operation in self.supported or not means_unknown_operation(exc.message, operation):
                raise
            self._mark_unsupported(operation, exc.message)
            return None
        except CbsNotApiError as exc:
            # An old server (or a proxy in front of it) may answer an unknown path with 404.
            if operation in self.supported or exc.http_status != 404:
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

    async def _credentials_refused(self, message: str) -> bool:
        """Whether an error answer means wrong system credentials. No user's data can say
        that (a set may be named "Incorrect system username/password"): the server's answer
        to AuthSystemUser does, asked once per run, and only when some call answered an
        error. A server without AuthSystemUser leaves the exact refusal as the only sign."""
        async with self._credentials_lock:
            if self._credentials is None:
                self._credentials = await self._ask_credentials()
        if self._credentials == "unknown":
            return says_credentials_refused(message)
        return self._credentials == "refused"

    async def _ask_credentials(self) -> Credentials:
        try:
            await self._attempts("AuthSystemUser", {}, _as_is)
        except CbsApiError as exc:
            if means_unknown_operation(exc.message, "AuthSystemUser"):
                return "unknown"
            return "refused"
        except CbsError:
            return "unknown"  # an old server's 404, or no answer now: cannot tell
        return "valid"

    # -- transport --------------------------------------------------------------------------

    def url_for(self, operation: str) -> str:
        version = "2/" if operation in _V2_OPERATIONS else ""
        return f"{self.base_url}/obs/api/json/{version}{operation}.do"

    async def call(
        self, operation: str, params: dict[str, str], convert: Callable[[Any], T] = _as_is
    ) -> T:
        """POST one operation and return its ``Data`` through ``convert``; raises a
        ``CbsError`` subclass (``CbsAuthError`` once the server confirmed the refusal).

        ``calls`` counts operations sent (the documented per-run formula); retried
        attempts are counted apart in ``retries``. Both count a request when it gets its
        connection, so one cancelled while waiting for a free lane is not counted."""
        try:
            return await self._attempts(operation, params, convert)
        except CbsApiError as exc:
            self.failures[operation] += 1
            if operation == AUTH_SYSTEM_USER and not means_unknown_operation(
                exc.message, operation
            ):  # the self-test itself refused: that is the verdict, no need to ask it again
                self._credentials = "refused"
                raise CbsAuthError(operation, exc.message, exc.expt_type) from None
            lacks_operation = means_unknown_operation(exc.message, operation)
            if not lacks_operation and await self._credentials_refused(exc.message):
                raise CbsAuthError(operation, exc.message, exc.expt_type) from None
            raise
        except CbsError:
            self.failures[operation] += 1
            raise

    async def _attempts(
        self, operation: str, params: dict[str, str], convert: Callable[[Any], T]
    ) -> T:
        attempt = 0
        while True:
            try:
                count = self.retries if attempt else self.calls
                return await self._post(operation, params, convert, count)
            except CbsUnavailableError as exc:
                # A connection that cannot be made will not be made a second later either;
                # one retry covers a resolver's hiccup, not a CBS that is down.
                limit = min(self._retries, 1) if isinstance(exc, CbsConnectError) else self._retries
                if attempt >= limit:
                    gave_up = f"{exc.message} (gave up after {attempt + 1} attempts)"
                    raise type(exc)(operation, gave_up) from None
                delay = self._backoff_s * (2**attempt) * (0.5 + random.random())
                log.info("%s failed (%s); retrying in %.2fs", operation, exc.message, delay)
                attempt += 1
                await self._sleep(delay)

    async def _post(
        self,
        operation: str,
        params: dict[str, str],
        convert: Callable[[Any], T],
        count: Counter[str],
    ) -> T:
        body = {
            "SysUser": self._sys_user,
            "SysPwd": self._sys_password.get_secret_value(),
            **params,
        }
        answer = await self._lanes.post(operation, self.url_for(operation), body, count)

        def judge() -> T:
            return convert(decode(operation, answer.status, answer.body, answer.where))

        try:
            if len(answer.body) > _OFF_LOOP_BYTES:
                result = await asyncio.to_thread(judge)
            else:
                result = judge()
        except (CbsNotApiError, CbsUnavailableError):
            raise
        except CbsError:
            self.answered += 1
            raise
        self.answered += 1
        return result
