"""The exceptions cbsalert raises, and the exit codes they map to.

::

    CbsalertError                  base; `user_message` is safe to print
    ├── ConfigError                the config file is wrong              -> exit 2
    ├── CbsError                   anything about talking to the CBS
    │   ├── CbsApiError            the CBS answered "Status": "Error"
    │   │   └── CbsAuthError       ... because SysUser/SysPwd is wrong   -> exit 3
    │   ├── CbsUnavailableError    transport error, timeout, 5xx (after retries) -> exit 3
    │   │   └── CbsConnectError    no connection at all (refused, DNS, TLS handshake)
    │   └── CbsBadResponseError    not JSON, JSON of the wrong shape, or too large
    │       └── CbsNotApiError     not the API answering: an HTTP error page, HTML, not JSON
    ├── StateError                 the state database cannot be used     -> exit 4
    │   └── LockTimeoutError       another run holds the run lock        -> exit 5
    └── DeliveryError              a notifier could not deliver; `permanent` says
                                   whether retrying can help

Messages never contain secrets: the client never puts request bodies into errors,
and `redact()` is applied to anything that may echo a URL or a server's text.
"""

from __future__ import annotations

import re

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


class CbsBadResponseError(CbsError):
    """The CBS answered something that is not the JSON the documents describe."""


class CbsNotApiError(CbsBadResponseError):
    """What answered is not the CBS API: an HTTP status without an API body (404, 403, a
    redirect), an HTML page, a body that is not JSON. ``http_status`` is the answer's."""

    def __init__(self, operation: str, message: str, http_status: int) -> None:
        super().__init__(operation, message)
        self.http_status = http_status


class StateError(CbsalertError):
    """The state database cannot be read or written."""

    exit_code = EXIT_STATE


class LockTimeoutError(StateError):
    """Another run holds the run lock for longer than we may wait."""

    exit_code = EXIT_LOCKED


class DeliveryError(CbsalertError):
    """A notifier failed. Transient failures are retried on later runs; permanent ones are not."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


_URL_SECRET = re.compile(r"(https?://[^/\s]+)(/[^\s'\"<>]*)")
_USERINFO = re.compile(r"(https?://)[^/@\s]+@")


def redact_url(url: str) -> str:
    """Keep a URL's scheme and host, hide its path: webhook paths are secrets."""
    url = _USERINFO.sub(r"\1***@", url)
    return _URL_SECRET.sub(
        lambda m: m.group(1) + ("/***" if m.group(2) not in ("", "/") else ""), url
    )


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Replace every known secret in ``text`` by ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
