"""The wire to the CBS: connections, the bounds of one request, and what went wrong on the
way in words an operator can act on.

``Lanes`` holds the connections and sends one request: ``timeout_s`` bounds it from its
connection to its last byte, and its body is read no further than the size cap (gzip is
decoded here, so a bomb is stopped at the cap and not a whole chunk later). What fails on
the way names the URL called and the likely mistake in ``cbs.url`` — the API path
appended, https to a plain-HTTP server, a web page where the API should be. URLs are shown
without their userinfo: a password in ``cbs.url`` never shows, and never reaches httpx's
own logs either.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import socket
import ssl
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import certifi
import httpx

from cbsalert.errors import (
    CbsBadResponseError,
    CbsConnectError,
    CbsNotApiError,
    CbsUnavailableError,
)

log = logging.getLogger(__name__)


@functools.cache
def _certifi_context() -> ssl.SSLContext:
    """certifi's CAs, loaded once per process and shared by every client after: loading
    them parses the whole bundle (~20 ms of CPU), which each run paid again. A private
    ``cbs.ca_bundle`` is read afresh for each client, so a renewed file counts at once."""
    return ssl.create_default_context(cafile=certifi.where())


MB = 1_000_000
API_PATH = "/obs/api/json"
_ADDS = f"cbsalert adds {API_PATH}/<Operation>.do to it"


def shown_url(url: str) -> str:
    """``url`` as it may be shown: no userinfo (a password), query or fragment."""
    try:
        parsed = httpx.URL(url)
        return str(parsed.copy_with(username=None, password=None, query=None, fragment=None))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "(an invalid URL)"


@dataclass(frozen=True)
class Where:
    """Where an answer came from, for the message about it."""

    called: str  # the URL called, as shown
    base: str  # `cbs.url`, as shown
    content_type: str = ""
    location: str | None = None  # a redirect's target


@dataclass(frozen=True)
class Exchange:
    """One answer as received: its status, its decoded body, where it came from."""

    status: int
    body: bytes
    where: Where


class Lanes:
    """The connections to one CBS: one single-connection httpx client per lane, handed out by
    a queue. The queue is the run-wide concurrency bound, and each pool stays O(1): one pool
    of N connections scans every connection's socket on each request (httpcore), which cost
    about half of the client's CPU at 16 connections."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        max_answer_bytes: int,
        max_concurrency: int,
        verify_tls: bool,
        ca_bundle: str | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        # A user and password in the URL (a proxy's basic auth) go to httpx as auth, so that
        # no URL handed to httpx (which logs them) or shown in a message carries them.
        parsed = httpx.URL(url.rstrip("/"))
        auth = httpx.BasicAuth(parsed.username, parsed.password) if parsed.userinfo else None
        self.base_url = shown_url(str(parsed))
        self._timeout_s = timeout_s
        self._connect_timeout_s = min(connect_timeout_s, timeout_s)
        self._max_answer = max_answer_bytes
        verify: ssl.SSLContext | bool = False
        if verify_tls:
            # One context for every lane (loading the CA bundle is not free); httpx 0.28
            # deprecates verify=<path>, so build it the way httpx did.
            if ca_bundle and os.path.isdir(ca_bundle):
                verify = ssl.create_default_context(capath=ca_bundle)
            elif ca_bundle:
                verify = ssl.create_default_context(cafile=ca_bundle)
            else:
                verify = _certifi_context()
        single = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        timeout = httpx.Timeout(timeout_s, connect=self._connect_timeout_s)
        headers = {
            "User-Agent": "cbsalert",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",  # what read_capped decodes
        }
        options: dict[str, Any] = {"verify": verify, "transport": transport, "auth": auth}
        self._clients = [
            httpx.AsyncClient(timeout=timeout, limits=single, headers=headers, **options)
            for _ in range(max(1, max_concurrency))
        ]
        self._free: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self._clients:
            self._free.put_nowait(client)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def post(
        self, operation: str, url: str, body: dict[str, Any], count: Counter[str]
    ) -> Exchange:
        """Send one request on a free lane (``count`` counts it once it has one); raises
        ``CbsUnavailableError``, ``CbsConnectError`` when no connection could be made, or
        ``CbsBadResponseError`` for an answer over the cap. Never logs the body."""
        shown = url  # built on base_url, which has no userinfo to hide
        client = await self._free.get()
        count[operation] += 1
        try:
            async with asyncio.timeout(self._timeout_s), client.stream("POST", url, json=body) as r:
                log.debug("%s: POST %s -> HTTP %d", operation, shown, r.status_code)
                content = await read_capped(r, operation, self._max_answer)
                headers = r.headers
                where = Where(shown, self.base_url, headers.get("Content-Type", ""),
                              headers.get("Location"))  # fmt: skip
                return Exchange(r.status_code, content, where)
        except httpx.ConnectTimeout:
            reason = f"no answer within {self._connect_timeout_s:g} s (cbs.connect_timeout_s)"
            message = f"cannot connect to {self.base_url}: {reason}"
            raise CbsConnectError(operation, message) from None
        except (TimeoutError, httpx.TimeoutException):
            limit = f"timed out after {self._timeout_s:g} s (cbs.timeout_s)"
            raise CbsUnavailableError(operation, limit) from None
        except httpx.ConnectError as exc:
            raise CbsConnectError(operation, connect_failure(exc, self.base_url)) from None
        except httpx.HTTPError as exc:
            # httpx messages name the host at most, never the body.
            reason = str(exc) or type(exc).__name__
            raise CbsUnavailableError(operation, f"connection lost: {reason}") from None
        finally:
            self._free.put_nowait(client)


async def read_capped(response: httpx.Response, operation: str, limit: int) -> bytes:
    """The decoded body, or ``CbsBadResponseError`` as soon as it grows past ``limit`` bytes.

    gzip and deflate are decoded here with a bound on each step's output: httpx decodes a
    whole received chunk at once, and 64 kB of a gzip bomb is 64 MB decoded."""
    too_large = CbsBadResponseError(
        operation, f"answer larger than {limit / MB:g} MB (cbs.max_answer_mb)"
    )
    if response.is_stream_consumed:  # answered from memory (httpx.MockTransport): already read
        if len(response.content) > limit:
            raise too_large
        return response.content
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    decoder = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # either header, detected
    elif encoding not in ("", "identity"):
        message = f"an answer in an unknown Content-Encoding ({encoding[:40]})"
        raise CbsNotApiError(operation, message, response.status_code)
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            if decoder is None:
                body += chunk
            else:
                body += decoder.decompress(chunk, limit + 1 - len(body))
                while decoder.unconsumed_tail and len(body) <= limit:
                    body += decoder.decompress(decoder.unconsumed_tail, limit + 1 - len(body))
            if len(body) > limit:
                raise too_large
        if decoder is not None:
            body += decoder.flush()
    except zlib.error as exc:
        message = f"the {encoding} answer cannot be decoded: {exc}"
        raise CbsNotApiError(operation, message, response.status_code) from None
    return bytes(body)


def snippet(body: bytes) -> str:
    """The start of a body, on one line: enough to recognise a page, never all of it."""
    return " ".join(body[:800].decode("utf-8", "replace")[:200].split())


def not_api_message(status: int, body: bytes, where: Where | None) -> str:
    """Why an answer is not the API's, and (knowing where it came from) what to check."""
    start = snippet(body)
    ok = 200 <= status < 300
    if where is None:
        return f"not JSON (HTTP {status}): {start}" if ok else f"HTTP {status}: {start}"
    called = where.called
    if status == 404:
        return f"answered HTTP 404 for {called}: {_hint_404(where.base)}"
    if 300 <= status < 400 and where.location:
        return f"answered HTTP {status} for {called}: {_hint_redirect(where)}"
    if ok and ("html" in where.content_type.lower() or body.lstrip()[:1] == b"<"):
        return (
            f"answered an HTML page (HTTP {status}) for {called}, not the API's JSON ({start}):"
            " is `cbs.url` the AhsayCBS server, not a web page or a sign-in page in front of it?"
        )
    if ok:
        return f"not JSON (HTTP {status}) from {called}: {start}"
    return f"answered HTTP {status} for {called}: {start}"


def _hint_404(base: str) -> str:
    path = httpx.URL(base).path.rstrip("/") if base.startswith("http") else ""
    if "/obs/api" in path:
        return (
            f"`cbs.url` should be the server's base URL, without {path[path.index('/obs/api') :]}"
        )
    if path:
        return f"is `cbs.url` the server's base URL? ({_ADDS})"
    return f"is `cbs.url` the AhsayCBS server? ({_ADDS})"


def _hint_redirect(where: Where) -> str:
    try:
        target = shown_url(str(httpx.URL(where.called).join(where.location or "")))
    except (httpx.InvalidURL, TypeError, ValueError):  # the server's header: anything at all
        return "it redirects to an invalid URL"
    match = re.match(rf"^(.*?){re.escape(API_PATH)}/(?:2/)?\w+\.do$", target)
    if match:
        return f"it redirects to {target}: `cbs.url` should be {match.group(1)}"
    return f"it redirects to {target}: is `cbs.url` the AhsayCBS server?"


def connect_failure(exc: httpx.HTTPError, base: str) -> str:
    """Why no connection could be made to ``base`` (shown), and what to check."""
    causes = exception_chain(exc)
    where = f"cannot connect to {base}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return (
            f"{where}: connection refused (is the CBS running, and is the port in `cbs.url` right?)"
        )
    if any(isinstance(c, socket.gaierror) for c in causes):
        return f"{where}: the host name does not resolve (check the host in `cbs.url`)"
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        reason = f"{where}: TLS handshake failed ({tls})"
        if isinstance(tls, ssl.SSLCertVerificationError):
            return f"{reason}: set `cbs.ca_bundle` to the CA that signed the server's certificate"
        if re.search(r"WRONG_VERSION_NUMBER|record layer|packet length|HTTP_REQUEST", str(tls)):
            return (
                f"{reason}: does the server speak plain HTTP? (then `cbs.url` starts with http://)"
            )
        return reason
    return f"{where}: {str(exc) or type(exc).__name__}"


def exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception and every one it was raised from, or during."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
    return seen
