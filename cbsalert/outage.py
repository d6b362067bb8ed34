"""When a fetch's failures are the CBS's, not its users': the run stops, exit 3.

A user whose calls fail is that user's check error. But some failures say that the CBS
itself cannot be used, and then nobody was really checked (the pipeline sends the
meta-alert instead of one alert per user):

* a connection that cannot be made (refused, DNS, TLS) before the CBS has answered once;
* the first users all failing on the wire (timeouts, 5xx, 404s, HTML pages) before the CBS
  has answered once in its own JSON;
* every user failing the same way on the wire (a proxy that 404s one operation).

Wrong system credentials are the client's to say (``cbs_call``), from the server's answer.
``outage_cause`` names which of the three a run's error is, for the meta-alert's words.
"""

from __future__ import annotations

from cbsalert.cbs_call import CbsCaller
from cbsalert.errors import (
    CbsAuthError,
    CbsConnectError,
    CbsError,
    CbsNotApiError,
    CbsServerError,
    CbsUnavailableError,
)
from cbsalert.model import OutageCause


class OutageWatch:
    """Watches one fetch of ``users`` users; ``give_up`` wire failures before the CBS has
    answered once mean it is down (at most ``users``: a run of two users decides on two)."""

    def __init__(self, client: CbsCaller, *, users: int, give_up: int) -> None:
        self.client = client
        self.users = users
        self.give_up = min(users, give_up)
        self.successes = 0
        self.wire_failures: list[CbsError] = []

    def succeeded(self) -> None:
        self.successes += 1

    def failed(self, exc: CbsError) -> CbsUnavailableError | None:
        """Whether this user's failure, with those before it, says the CBS cannot be used.

        Before the CBS has answered once in its own JSON, a refused connection (or a TLS or
        DNS failure) is the CBS's, whoever met it; so are ``give_up`` users failing on the
        wire (404, an HTML page, timeouts): a wrong ``cbs.url`` is not N users' problem."""
        if not isinstance(exc, (CbsUnavailableError, CbsNotApiError)):
            return None
        self.wire_failures.append(exc)
        if self.client.answered:
            return None
        if isinstance(exc, CbsConnectError) or len(self.wire_failures) >= self.give_up:
            return _unavailable(exc)
        return None

    def all_failed_alike(self) -> CbsUnavailableError | None:
        """Every user failed, all on the wire and all the same way: the CBS (or a proxy in
        front of it) cannot be used, even if it answered some other call."""
        failures = self.wire_failures
        if self.successes or len(failures) != self.users:
            return None
        if len({(f.operation, f.message) for f in failures}) != 1:
            return None
        return _unavailable(failures[0])


def outage_cause(exc: CbsError) -> OutageCause:
    """What an error that stopped the run says about the CBS."""
    if isinstance(exc, CbsAuthError):
        return "login"
    if isinstance(exc, CbsServerError):
        return "answers"
    return "reach"


def _unavailable(exc: CbsError) -> CbsUnavailableError:
    """The run's error: as it is when the wire failed, a ``CbsServerError`` when what
    answered is not the API (it answers, but not as the CBS)."""
    if isinstance(exc, CbsUnavailableError):
        return exc
    return CbsServerError(exc.operation, exc.message)
