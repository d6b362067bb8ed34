"""What one CBS answer says: its ``Data``, or which kind of failure it is.

The kind decides who the failure belongs to (errors.py draws the tree): a 5xx is the server
being unwell (retried); a body that is not the API's JSON is the wire (a wrong ``cbs.url``,
a proxy); ``Status: Error`` is the server's word about this call; JSON of the wrong shape
is this call's data. ListUsers (v2) carries its records under ``User``, not ``Data``.
Two error answers mean more than one call, and only as a whole message,
never as words inside one (a backup set may be named anything): the old server's answer
for an operation it lacks, and its refusal of the system credentials.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cbsalert.cbs_http import Where, not_api_message, snippet
from cbsalert.cbsusers import CbsUser
from cbsalert.errors import CbsApiError, CbsBadResponseError, CbsNotApiError, CbsServerError
from cbsalert.records import Destination

R = TypeVar("R", bound=BaseModel)

# Operations whose answer holds its records under another key than ``Data``; ``Data`` is
# still taken when that key is absent (a server that follows the rest of the API).
ANSWER_KEYS = {"ListUsers": "User"}


def decode(operation: str, status: int, body: bytes, where: Where | None = None) -> Any:
    """The ``Data`` of an answer; ``where`` (the URL called) makes a wire problem's message
    name the URL and what to check."""
    if status >= 500 or status in (408, 429):
        raise CbsServerError(operation, f"HTTP {status}: {snippet(body)}")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: json gives up on absurdly deep nesting instead of raising ValueError.
        raise CbsNotApiError(operation, not_api_message(status, body, where), status) from None
    if isinstance(payload, dict) and "Status" in payload:  # the API's own answer
        if str(payload["Status"]).upper() == "OK":
            return _answer(operation, payload)
        message = str(payload.get("Message") or "unknown error")[:500]
        expt = payload.get("ExptType")
        raise CbsApiError(operation, message, str(expt) if expt is not None else None)
    if not 200 <= status < 300:
        raise CbsNotApiError(operation, not_api_message(status, body, where), status)
    if not isinstance(payload, dict):
        raise _shape(operation, "the answer is not a JSON object")
    raise _shape(operation, "the answer has no Status")


def _answer(operation: str, payload: dict[str, Any]) -> Any:
    key = ANSWER_KEYS.get(operation)
    if key is None:
        return payload.get("Data")
    if key not in payload and "Data" not in payload:
        # Not "no records": a list of users taken for empty would say every user is gone.
        raise _shape(operation, f"the answer has no {key} list")
    return payload[key] if key in payload else payload["Data"]


def means_unknown_operation(message: str, operation: str) -> bool:
    """The old server's whole answer for an operation it lacks ("Unsupported API: GetBackupSet")."""
    pattern = (
        rf"\s*(?:unsupported|unknown|invalid)\s+(?:api|operation|method)\s*:?\s*['\"]?"
        rf"{re.escape(operation)}(?:\.do)?['\"]?\s*\.?\s*"
    )
    return re.fullmatch(pattern, message, re.IGNORECASE) is not None


def says_credentials_refused(message: str) -> bool:
    """The CBS's whole answer to a wrong system user or password: the only sign there is on a
    server without AuthSystemUser, which is the way to ask."""
    return message.strip().rstrip(".").lower() == "incorrect system username/password"


def destinations(data: Any) -> list[Destination]:
    """GetBackupSet's ``Data``: the set's settings, its destinations deep inside."""
    if not isinstance(data, dict):
        raise _shape("GetBackupSet", "Data is not an object")
    settings = data.get("DestinationSettings") or {}
    entries = settings.get("DestinationList") if isinstance(settings, dict) else None
    return records("GetBackupSet", entries or [], Destination)


def users(data: Any) -> list[CbsUser]:
    """ListUsers' ``User`` list. Only an empty list means no user: ``null`` or ``""`` taken
    for none would say that every user left the CBS."""
    if data is None or data == "":
        raise _shape("ListUsers", "User is empty, expected a list")
    return records("ListUsers", data, CbsUser)


def record(operation: str, data: Any, model: type[R]) -> R:
    if not isinstance(data, dict):
        raise _shape(operation, f"Data is {type(data).__name__}, expected an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _shape(operation, f"{exc.error_count()} invalid field(s)") from None


def records(operation: str, data: Any, model: type[R]) -> list[R]:
    if data is None or data == "":
        return []
    if isinstance(data, dict):
        # A single record where a list belongs: seen from proxies that unwrap one-element lists.
        data = [data]
    if not isinstance(data, list):
        raise _shape(operation, f"Data is {type(data).__name__}, expected a list")
    return [record(operation, item, model) for item in data]


def _shape(operation: str, problem: str) -> CbsBadResponseError:
    return CbsBadResponseError(operation, f"unexpected answer: {problem}")
