"""Posting a message to an HTTP endpoint (a webhook), for every notifier that does so.

One ``post_json`` and its contract: returns the 2xx response, or raises ``DeliveryError``
whose ``permanent`` says whether retrying can help, with every secret and every URL's path
out of its message (a webhook's path is its secret). The retry policy, after healthchecks'
``HttpTransport`` and Alertmanager's notify retrier:

* 5xx and a dropped or refused connection: retried ``Retries.errors`` times, with a short
  backoff; then a transient failure;
* 429: retried after its Retry-After, ``Retries.rate_limits`` times, never for one wait
  longer than ``max_wait_s`` nor past the ``RateLimitBudget`` (shared by the posts of one
  message); a longer wait fails at once, transiently (the delivery is retried next run);
* a timeout: not retried (the endpoint may already have the message: a repeat is a worse
  surprise than a late one), transient;
* any other 4xx except 408: permanent (the URL or the message is wrong);
* a URL that is not http(s): permanent.

``get`` asks once, with the same error contract, for a readiness check (``doctor``);
``json_bytes`` is the one encoding of a body whose exact bytes matter (a signature, a size
limit), which ``post_json`` then posts as it is.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

from cbsalert.errors import DeliveryError, redact, redact_url
from cbsalert.labels import clip, oneline

JSON = "application/json"

# The secrets of the post_json running in this context (the URL among them), for _Redact.
_POSTING: ContextVar[list[str] | None] = ContextVar("cbsalert_posting", default=None)


class _Redact(logging.Filter):
    """httpx logs every request's URL at INFO (``logs.setup_logging`` keeps it at WARNING,
    but an operator may turn it up), and a webhook's URL is its secret: while ``post_json``
    runs, httpx's records have its secrets replaced. Other requests' records (the CBS
    client's) are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _POSTING.get()
        if secrets:
            record.msg = redact(record.getMessage(), secrets)
            record.args = None
        return True


logging.getLogger("httpx").addFilter(_Redact())


def permanent_status(status: int) -> bool:
    """A 4xx other than 408 (timeout) and 429 (rate limit): asking again cannot help."""
    return 400 <= status < 500 and status not in (408, 429)


@dataclass(frozen=True)
class Retries:
    errors: int = 2  # retries after a 5xx or a dropped connection
    rate_limits: int = 3  # 429s waited for
    max_wait_s: float = 60.0  # a longer Retry-After fails the post (transient) instead
    backoff_s: float = 0.3  # first wait after an error; doubled each time, plus a tenth
    unstated_wait_s: float = 1.0  # the wait after a 429 without a Retry-After


@dataclass
class RateLimitBudget:
    """The time left to wait for rate limits, shared by the posts of one message."""

    left_s: float = 90.0


def retry_after(headers: Mapping[str, Any], unstated: float = 1.0) -> float | None:
    """Seconds a 429's Retry-After asks for: ``unstated`` when absent, None for an HTTP
    date or garbage (do not guess)."""
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return unstated


def rate_limit_wait(
    headers: Mapping[str, Any], retries: Retries, budget: RateLimitBudget
) -> float | None:
    """How long to wait before asking again after a 429, taken from ``budget``; None when
    the wait is beyond the caps: then the 429 stands."""
    wait = retry_after(headers, retries.unstated_wait_s)
    if wait is None or wait > retries.max_wait_s or wait > budget.left_s:
        return None
    budget.left_s -= wait
    return wait


def json_bytes(document: Any) -> bytes:
    """``document`` as compact UTF-8 JSON: what a notifier signs (a webhook) or measures
    against a provider's size limit (Teams) is then exactly what is posted."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8", "replace")


@functools.cache
def _verifying() -> ssl.SSLContext:
    """What httpx verifies with by default (certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR),
    built once per process and shared: building it parses the whole CA bundle (~20 ms of
    CPU), which every post (each message, each part of a split one) paid again."""
    return httpx.create_ssl_context()


def post_json(
    url: str,
    body: Any,
    *,
    what: str,
    timeout_s: float,
    secrets: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
    retries: Retries = Retries(),
    budget: RateLimitBudget | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """POST ``body`` as JSON to ``url``; ``what`` starts every error message (``slack ops:
    webhook``). ``bytes`` are posted as they are, as JSON (a body that is signed must be
    the exact bytes signed). Raises ``DeliveryError`` as the module docstring says."""
    if isinstance(body, bytes):
        sent: dict[str, Any] = {"content": body, "headers": {"Content-Type": JSON}}
    else:
        sent = {"json": body}
    return _request(
        "POST", url, sent, what=what, timeout_s=timeout_s, secrets=secrets, headers=headers,
        retries=retries, budget=budget, sleep=sleep,
    )  # fmt: skip


def get(
    url: str,
    *,
    what: str,
    timeout_s: float,
    secrets: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """GET ``url`` once (a readiness check for ``cbsalert doctor``, which must answer
    soon): the 2xx response, or ``DeliveryError`` as ``post_json`` raises it."""
    return _request(
        "GET", url, {}, what=what, timeout_s=timeout_s, secrets=secrets, headers=headers,
        retries=Retries(errors=0, rate_limits=0), budget=None, sleep=time.sleep,
    )  # fmt: skip


def _request(
    method: str,
    url: str,
    sent: Mapping[str, Any],
    *,
    what: str,
    timeout_s: float,
    secrets: Iterable[str],
    headers: Mapping[str, str] | None,
    retries: Retries,
    budget: RateLimitBudget | None,
    sleep: Callable[[float], None],
) -> httpx.Response:
    secrets = list(secrets)
    budget = budget if budget is not None else RateLimitBudget()
    doing, verb = ("posting to", "post to") if method == "POST" else ("asking", "ask")

    def fail(message: str, *, permanent: bool = False) -> DeliveryError:
        return DeliveryError(redact_url(redact(message, secrets)), permanent=permanent)

    posting = _POSTING.set([*secrets, url])
    try:
        errors = rate_limits = 0
        with httpx.Client(timeout=timeout_s, headers=headers, verify=_verifying()) as client:
            while True:
                try:
                    response = client.request(method, url, **sent)
                except httpx.TimeoutException:
                    raise fail(f"{what}: timed out after {timeout_s:g} s, {doing} {url}") from None
                except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                    raise fail(f"{what}: cannot {verb} {url}: {exc}", permanent=True) from None
                except httpx.TransportError as exc:  # refused, reset, closed without an answer
                    if errors < retries.errors:
                        sleep(_backoff(retries, errors))
                        errors += 1
                        continue
                    raise fail(f"{what}: {exc or type(exc).__name__}, {doing} {url}") from None
                status = response.status_code
                if 200 <= status < 300:
                    return response
                if status == 429 and rate_limits < retries.rate_limits:
                    wait = rate_limit_wait(response.headers, retries, budget)
                    if wait is not None:
                        sleep(wait)
                        rate_limits += 1
                        continue
                elif status >= 500 and errors < retries.errors:
                    sleep(_backoff(retries, errors))
                    errors += 1
                    continue
                text = clip(oneline(response.text), 200) or "(empty answer)"
                message = f"{what} answered HTTP {status}: {text}"
                if status == 429:
                    message += " (rate limited longer than cbsalert waits)"
                raise fail(message, permanent=permanent_status(status))
    finally:
        _POSTING.reset(posting)


def _backoff(retries: Retries, done: int) -> float:
    wait: float = retries.backoff_s * 2**done
    return wait * (1 + random.random() / 10)
