"""The exceptions cbsalert raises, and the exit codes they map to.

::

    CbsalertError                  base; `user_message` is safe to print
    ├── ConfigError                the config file is wrong              -> exit 2
    ├── UsageError                 the command line asks for what cannot be -> exit 2
    ├── CbsError                   anything about talking to the CBS
    │   ├── CbsApiError            the CBS answered "Status": "Error"
    │   │   └── CbsAuthError       ... because SysUser/SysPwd is wrong   -> exit 3
    │   ├── CbsUnavailableError    transport error, timeout, 5xx (after retries) -> exit 3
    │   │   ├── CbsConnectError    no connection at all (refused, DNS, TLS handshake)
    │   │   └── CbsServerError     it answers, with errors: 5xx, or not the API (outage)
    │   ├── CbsBadResponseError    not JSON, JSON of the wrong shape, or too large
    │   │   └── CbsNotApiError     not the API answering: an HTTP error page, HTML, not JSON
    │   └── UnknownBackupSetError  a watch entry names a set the user does not have
    ├── StateError                 the state database cannot be used     -> exit 4
    │   └── LockTimeoutError       another run holds the run lock        -> exit 5
    └── DeliveryError              a notifier could not deliver; `permanent` says
                                   whether retrying soon can help

Messages never contain secrets: the client never puts request bodies into errors,
and `redact()` is applied to anything that may echo a URL or a server's text; the log
handler (cbsalert.logs) applies it, and `redact_userinfo()`, to every line once more.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# Exit codes, documented in `cbsalert --help` and the README.
EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_CONFIG = 2
EXIT_CBS = 3
EXIT_STATE = 4
EXIT_LOCKED = 5


class CbsalertError(Exception):
    """Base of every error cbsalert raises on purpose."""

    exit_code: int = EXIT_PARTIAL

    @property
    def user_message(self) -> str:
        return str(self)


class ConfigError(CbsalertError):
    """The configuration (file, environment, templates) is not usable."""

    exit_code = EXIT_CONFIG

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    @property
    def user_message(self) -> str:
        if not self.problems:
            return str(self)
        return "\n".join([str(self), *(f"  {p}" for p in self.problems)])


class UsageError(CbsalertError):
    """The command line asks for something that cannot be done: a day that cannot be
    checked, a silence id or a rule id that does not exist, a port in use."""

    exit_code = EXIT_CONFIG


class CbsError(CbsalertError):
    """Something went wrong talking to the CBS."""

    exit_code = EXIT_CBS

    def __init__(self, operation: str, message: str) -> None:
        super().__init__(f"{operation}: {message}")
        self.operation = operation
        self.message = message


class CbsApiError(CbsError):
    """The CBS answered with ``"Status": "Error"``; never retried."""

    def __init__(self, operation: str, message: str, expt_type: str | None = None) -> None:
        super().__init__(operation, message)
        self.expt_type = expt_type

    @property
    def is_unknown_user(self) -> bool:
        text = self.message.lower()
        return "nosuchuserexpt" in text or ("user" in text and "not found" in text)


class CbsAuthError(CbsApiError):
    """The system user or password was refused: no further call can succeed."""


class CbsUnavailableError(CbsError):
    """The CBS could not be reached or kept failing after the retries."""


class CbsConnectError(CbsUnavailableError):
    """No connection could be made (refused, name not resolved, TLS handshake failed).

    The same for every call of a run, whoever it is for: fetch treats it as the CBS's
    problem, not the user's."""


class CbsServerError(CbsUnavailableError):
    """Something answers at ``cbs.url``, but with errors: a 5xx (or 408, 429) after the
    retries, or, when it says the CBS cannot be used (``outage``), an answer that is not
    the API (an HTTP error page, HTML). The meta-alert tells it apart from a CBS that cannot
    be reached: the people to call differ."""


class CbsBadResponseError(CbsError):
    """The CBS answered something that is not the JSON the documents describe."""


class CbsNotApiError(CbsBadResponseError):
    """What answered is not the CBS API: an HTTP status without an API body (404, 403, a
    redirect), an HTML page, a body that is not JSON. ``http_status`` is the answer's."""

    def __init__(self, operation: str, message: str, http_status: int) -> None:
        super().__init__(operation, message)
        self.http_status = http_status


class UnknownBackupSetError(CbsError):
    """ListBackupSets answered, and a set in the watch entry's ``backup_sets`` is not among
    the user's sets: a check error for that user, never a "no backup ran" alert."""


class StateError(CbsalertError):
    """The state database cannot be read or written."""

    exit_code = EXIT_STATE


class LockTimeoutError(StateError):
    """Another run holds the run lock for longer than we may wait."""

    exit_code = EXIT_LOCKED


class DeliveryError(CbsalertError):
    """A notifier failed. A transient failure is retried at the next run; a permanent one
    (the config must change) only once a day (``outbox.PERMANENT_RETRY_AFTER``), so that a
    fixed config delivers it while a refusing provider is not asked at every run."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# A URL inside free text: a scheme, "://", then anything up to a space or a quote.
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# Secrets shorter than this are replaced only as whole tokens: replacing a one-letter
# password inside every word that holds it ("next" -> "ne***t") would show it to anyone.
SHORT_SECRET = 8


def _parts(url: str) -> tuple[str, str, str, str] | None:
    """``(scheme, userinfo, host[:port], rest)`` of a URL, or None if it is not one."""
    scheme, sep, after = url.partition("://")
    if not sep:
        return None
    end = min((i for i in (after.find(c) for c in "/?#") if i >= 0), default=len(after))
    netloc, rest = after[:end], after[end:]
    userinfo, at, host = netloc.rpartition("@")
    return scheme, userinfo + at, host, rest


def _hide(url: str, *, path: bool) -> str:
    parts = _parts(url)
    if parts is None:
        return url
    scheme, userinfo, host, rest = parts
    shown = f"{scheme}://{'***@' if userinfo else ''}{host}"
    if not path:
        return shown + rest
    return shown + ("/***" if rest not in ("", "/") else rest)


def redact_url(text: str) -> str:
    """Every URL in ``text`` reduced to its scheme and host: userinfo hides a password,
    and a path or query often is the secret itself (a webhook, a heartbeat)."""
    return _URL.sub(lambda m: _hide(m.group(), path=True), text)


def redact_userinfo(text: str) -> str:
    """Every URL in ``text`` without its ``user:password@``; host and path stay readable."""
    return _URL.sub(lambda m: _hide(m.group(), path=False), text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret in ``text`` by ``***``.

    A secret URL is also found by its path and query (the secret part, however the host or
    scheme is spelled, e.g. after a redirect to https) and by the password in its userinfo.
    """
    pattern = _secrets_pattern(tuple(secrets))
    return pattern.sub("***", text) if pattern is not None else text


@functools.lru_cache(maxsize=64)
def _secrets_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    values: set[str] = set()
    for secret in secrets:
        values.add(secret)
        parts = _parts(secret)
        if parts is not None:
            _, userinfo, _, rest = parts
            values.add(rest if rest not in ("/",) else "")
            values.add(userinfo[:-1].partition(":")[2])
    alternatives = [
        re.escape(v) if len(v) >= SHORT_SECRET else rf"(?<!\w){re.escape(v)}(?!\w)"
        for v in sorted((v for v in values if v), key=len, reverse=True)
    ]
    return re.compile("|".join(alternatives)) if alternatives else None
