"""The configuration file: YAML, ``${ENV}`` expansion, pydantic validation with line numbers.

Unknown keys are errors everywhere (a typo must not silently disable a rule). Every
problem is reported as ``file:line: key.path: message`` so that a user finds it at once.
Secrets are ``SecretStr`` from the moment they are read, and are meant to come from the
environment: ``sys_password: ${CBSALERT_SYS_PASSWORD}``.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cbsalert.configerrors import Located, LocatedProblems, format_errors
from cbsalert.configpath import CONFIG_DIR, ConfigPath, config_dir
from cbsalert.errors import ConfigError, StateError
from cbsalert.notify import NOTIFIER_KINDS, NotifierConfig
from cbsalert.rules import RULE_KINDS, RuleBase
from cbsalert.state.engine import state_url
from cbsalert.yamlconf import Document, dotted, read_yaml

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATHS = ("cbsalert.yaml", "rules.yaml", "/etc/cbsalert/cbsalert.yaml")


def cron_trigger(expr: str, timezone: str) -> CronTrigger:
    """A trigger for a 5-field crontab, or a 6-field one with seconds first (used by tests)."""
    fields = expr.split()
    zone = ZoneInfo(timezone)
    if len(fields) == 5:
        return CronTrigger.from_crontab(expr, timezone=zone)
    if len(fields) == 6:
        second, minute, hour, day, month, dow = fields
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month,
            day_of_week=dow, timezone=zone,
        )  # fmt: skip
    raise ValueError(f"expected 5 fields (or 6 with seconds first), got {len(fields)}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CbsConfig(_Strict):
    url: str
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
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must start with http:// or https:// and name a host")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return _check_zone(value) if value is not None else None


class WatchEntry(_Strict):
    login: str = Field(min_length=1)
    owner: str = ""
    backup_sets: list[str] | None = None
    ignore_sets: list[str] = Field(default_factory=list)
    rules: list[str] | None = None


class MetaAlert(_Strict):
    notify: list[str] | None = None
    severity: Literal["critical", "warning", "info"] = "critical"


class UncheckedAlert(MetaAlert):
    """A watched user that could not be checked: a blind spot, not a failed backup."""

    severity: Literal["critical", "warning", "info"] = "warning"


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like Europe/Amsterdam)"
        ) from None
    return value


if TYPE_CHECKING:
    AnyRule = RuleBase
    AnyNotifier = NotifierConfig
else:
    AnyRule = Annotated[Union[tuple(RULE_KINDS.values())], Field(discriminator="kind")]  # noqa: UP007
    AnyNotifier = Annotated[
        Union[tuple(NOTIFIER_KINDS.values())],  # noqa: UP007
        Field(discriminator="type"),
    ]


class Config(_Strict):
    cbs: CbsConfig
    timezone: str = "UTC"
    schedule: str = "0 7 * * *"
    state: str = "sqlite:///cbsalert.db"
    watch: list[WatchEntry] = Field(min_length=1)
    rules: list[AnyRule] = Field(min_length=1)
    notifiers: dict[str, AnyNotifier] = Field(default_factory=dict)
    max_attempts: int = Field(default=5, ge=1, le=100)
    retention_days: int = Field(default=90, ge=1)
    # Days before yesterday a run also checks when they were missed (an outage of the CBS
    # or of cbsalert, a user that could not be checked); 0: yesterday only.
    catch_up_days: int = Field(default=3, ge=0, le=31)
    lock_timeout_s: float = Field(default=60.0, ge=0)
    # A run killed on another host holds the lock until it expires; its heartbeat renews it.
    lock_ttl_s: float = Field(default=60.0, ge=1)
    heartbeat_url: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    meta_alert: MetaAlert = Field(default_factory=MetaAlert)
    unchecked_alert: UncheckedAlert = Field(default_factory=UncheckedAlert)

    _source: str = PrivateAttr(default="")
    _literal_secrets: list[str] = PrivateAttr(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("state")
    @classmethod
    def _state(cls, value: str, info: ValidationInfo) -> str:
        try:
            return state_url(value, config_dir(info))
        except StateError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            cron_trigger(value, "UTC")
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _references(self) -> Config:
        problems: list[Located] = []
        known = f"known: {', '.join(self.notifiers) or 'none'}"
        ids: dict[str, int] = {}
        for i, rule in enumerate(self.rules):
            first = ids.setdefault(rule.id, i)
            if first != i:
                problems.append(
                    Located(("rules", i, "id"), f"rule id {rule.id!r} is used twice",
                             ("rules", first, "id"))
                )  # fmt: skip
            for j, name in enumerate(rule.notify):
                if name not in self.notifiers:
                    problems.append(
                        Located(("rules", i, "notify", j), f"unknown notifier {name!r} ({known})")
                    )
        logins: dict[str, int] = {}
        for i, entry in enumerate(self.watch):
            # Watched twice, a user would be checked and counted twice.
            first = logins.setdefault(entry.login, i)
            if first != i:
                problems.append(
                    Located(("watch", i, "login"), f"login {entry.login!r} is watched twice",
                             ("watch", first, "login"))
                )  # fmt: skip
            for j, rule_id in enumerate(entry.rules or []):
                if rule_id not in ids:
                    problems.append(Located(("watch", i, "rules", j), f"unknown rule {rule_id!r}"))
        for key, builtin in (
            ("meta_alert", self.meta_alert),
            ("unchecked_alert", self.unchecked_alert),
        ):
            for j, name in enumerate(builtin.notify or []):
                if name not in self.notifiers:
                    problems.append(
                        Located((key, "notify", j), f"unknown notifier {name!r} ({known})")
                    )
        if problems:
            raise LocatedProblems(problems)
        return self

    @property
    def source(self) -> str:
        """The file this config came from, for messages."""
        return self._source

    @property
    def cbs_timezone(self) -> ZoneInfo:
        return ZoneInfo(self.cbs.timezone or self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def secrets(self) -> list[str]:
        """Every secret value in this config, for redaction of anything we print."""
        values = [self.cbs.sys_password.get_secret_value()]
        if self.heartbeat_url:
            values.append(self.heartbeat_url.get_secret_value())
        for notifier in self.notifiers.values():
            values.extend(notifier.secret_values())
        return [v for v in values if v]


# -- loading --------------------------------------------------------------------------------


def find_config(path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    env = os.environ.get("CBSALERT_CONFIG")
    if env:
        return Path(env)
    for candidate in DEFAULT_CONFIG_PATHS:
        if Path(candidate).exists():
            return Path(candidate)
    raise ConfigError(
        "no config file: pass --config FILE, set CBSALERT_CONFIG, or create cbsalert.yaml "
        "(rules.example.yaml is a commented example)"
    )


def load_config(path: str | Path | None = None) -> Config:
    """Read, expand and validate a config file; raises ``ConfigError`` listing every problem.

    Relative paths in it (state file, templates, CA bundles) are relative to its folder."""
    file = find_config(path)
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: the config file is not UTF-8 text") from None
    config = parse_config(text, name, folder=file.absolute().parent)
    _warn_if_world_readable(file, config)
    return config


_M = TypeVar("_M", bound=BaseModel)


def parse_config(text: str, name: str = "<config>", *, folder: Path | None = None) -> Config:
    """The config in ``text``; ``folder`` is where its relative paths start (None: as given)."""
    config, document = parse_document(text, name, Config, context={CONFIG_DIR: folder})
    config._source = name
    config._literal_secrets = [dotted(p) for p in document.literal_secrets]
    return config


def parse_document(
    text: str,
    name: str,
    model: type[_M],
    *,
    what: str = "configuration",
    expand_env: bool = True,
    context: dict[str, object] | None = None,
) -> tuple[_M, Document]:
    """Parse a YAML (or JSON) document into ``model``; raise ``ConfigError`` listing every
    problem as ``file:line: key.path: message``. Used for the config file and for the
    simulator's data file (``what="simulator data"``, no ``${ENV}`` expansion)."""
    document = read_yaml(text, name, what=what, expand_env=expand_env)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{name}:1: the {what} must be a mapping of keys to values")
    problems = [document.describe(problem) for problem in document.problems]
    try:
        config = model.model_validate(document.data, context=context)
    except ValidationError as exc:
        problems.extend(format_errors(exc, document))
        config = None
    if problems or config is None:
        count = len(problems)
        raise ConfigError(
            f"{name}: {count} problem{'s' if count != 1 else ''} in the {what}",
            problems=problems,
        )
    return config, document


def _warn_if_world_readable(file: Path, config: Config) -> None:
    literal = config._literal_secrets
    if not literal:
        return
    try:
        mode = file.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "%s holds a literal secret (%s) and is readable by other users; "
            "use ${ENV_VAR} instead, or chmod 600 it",
            file,
            ", ".join(literal),
        )
