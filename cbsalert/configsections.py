"""The sections of the config file: ``cbs``, each ``watch`` entry, ``meta_alert`` and
``unchecked_alert``, and the checks they share. ``Config`` (``cbsalert.config``) holds them
and checks what refers to what across sections.
"""

from __future__ import annotations

import json
import re
from typing import Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from cbsalert.configpath import ConfigPath


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently disable anything."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CbsConfig(Strict):
    url: str
    # What messages call the server ("CBS backup.example.com"); empty: the URL's host
    # (``_default_name`` fills it in, so a loaded config always has one).
    name: str = Field(default="", max_length=100)
    # The CBS web console, linked from every alert of a message (README: "console_url").
    console_url: str | None = None
    sys_user: str = Field(min_length=1)
    sys_password: SecretStr
    timeout_s: float = Field(default=30.0, gt=0)  # one request, from connecting to its last byte
    # Short, and a failed connection is retried once at most: a person waiting for `check`
    # hears that the CBS is down within seconds, not after every retry of every user.
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # The decoded size of one answer (gzip included); a bigger one is that user's check error.
    max_answer_mb: float = Field(default=50.0, gt=0)
    # The whole fetch of one run, retries included: a CBS slow enough to pass it leaves the
    # users not fetched by then as check errors (exit 1), or the run failed (exit 3).
    deadline_s: float = Field(default=3600.0, gt=0)
    max_concurrency: int = Field(default=8, ge=1, le=256)
    verify_tls: bool = True
    ca_bundle: ConfigPath | None = None
    retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0)
    timezone: str | None = None  # the zone the CBS reports times in; default: `timezone`
    # Jobs of one set on one day looked at, newest first: bounds the report calls one user
    # can cause (a flood of job records must not become a flood of calls on the CBS).
    max_jobs_per_set: int = Field(default=20, ge=1, le=10_000)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_http_url(value).rstrip("/")

    @field_validator("console_url")
    @classmethod
    def _console_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/@]+(/\S*)?$", value):
            raise ValueError("must be an http:// or https:// URL without spaces or user:password@")
        return value

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must be one line of printable text")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return check_zone(value) if value is not None else None

    @model_validator(mode="after")
    def _default_name(self) -> Self:
        """The URL's host (never its user or password) when no ``name`` is given."""
        if not self.name:
            self.name = urlsplit(self.url).hostname or "the CBS"
        return self


class Selection(Strict):
    """Which users of the CBS a ``select`` entry watches: ``all`` of them, or those whose
    ``owners`` (sub-admins, resellers; ``""`` is the system admin's own users) and/or
    ``logins`` match (exact text or glob, ``cbsalert.scope``); given both, a user must match
    both. ``select: all`` is short for ``select: {all: true}``."""

    all: bool = False
    owners: list[str] | None = Field(default=None, min_length=1)
    logins: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().lower() != "all":
                raise ValueError(
                    f"{value!r}: write select: all, or select: {{owners: [...]}} or "
                    "select: {logins: [...]}"
                )
            return {"all": True}
        return value

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if self.all and (self.owners is not None or self.logins is not None):
            raise ValueError("all: true selects every user: drop owners and logins, or all")
        if not self.all and self.owners is None and self.logins is None:
            raise ValueError("select which users? all: true, owners: [...] or logins: [...]")
        return self

    def describe(self) -> str:
        """The selection in the config's words, for messages (``select: all``)."""
        if self.all:
            return "select: all"
        named = (("owners", self.owners), ("logins", self.logins))
        parts = [f"{key}: {json.dumps(values)}" for key, values in named if values is not None]
        return "select: {" + ", ".join(parts) + "}"


# Keys only a ``select`` entry takes (what it says about the users it selects).
SELECT_ONLY = ("exclude", "client_type", "skip_suspended")


class WatchEntry(Strict):
    """One user named by its ``login``, or the users a ``select`` chooses on the CBS (found
    at the start of each run, ``cbsalert.watchlist``). ``backup_sets``, ``ignore_sets``
    and ``rules`` apply to each user either gives; a run checks named entries only (a
    ``select`` entry is resolved into named ones first)."""

    login: str = ""
    owner: str = ""
    select: Selection | None = None
    exclude: list[str] = Field(default_factory=list)  # logins (exact or glob) left out
    client_type: Literal["OBM", "ACB"] | None = None  # ListUsers' ClientType filter
    skip_suspended: bool = True  # a user the CBS says is suspended is not watched
    backup_sets: list[str] | None = None
    ignore_sets: list[str] = Field(default_factory=list)
    rules: list[str] | None = None

    @field_validator("client_type", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _names_or_selects(self) -> Self:
        if self.select is None:
            if not self.login:
                raise ValueError(
                    "name one user (login: NAME) or select users on the CBS (select: all, "
                    "select: {owners: [...]}, select: {logins: [...]})"
                )
            given = [key for key in SELECT_ONLY if key in self.model_fields_set]
            if given:
                raise ValueError(f"{', '.join(given)} only applies to a select entry")
        elif self.login or self.owner:
            raise ValueError(
                "an entry either names one user (login) or selects users (select), not both:"
                " an entry with login overrides what a selection gives that user"
            )
        return self


class MetaAlert(Strict):
    notify: list[str] | None = None
    severity: Literal["critical", "warning", "info"] = "critical"


class UncheckedAlert(MetaAlert):
    """A watched user that could not be checked: a blind spot, not a failed backup."""

    severity: Literal["critical", "warning", "info"] = "warning"


def check_http_url(value: str) -> str:
    """An http(s) URL that names a host. The message never repeats the value: it may be
    a secret (a webhook's URL)."""
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must start with http:// or https:// and name a host")
    return value


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like Europe/Amsterdam)"
        ) from None
    return value
