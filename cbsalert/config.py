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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from cbsalert.errors import ConfigError
from cbsalert.notify import NOTIFIER_KINDS, NotifierConfig
from cbsalert.rules import RULE_KINDS, RuleBase

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATHS = ("cbsalert.yaml", "rules.yaml", "/etc/cbsalert/cbsalert.yaml")
_ENV = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


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
    timeout_s: float = Field(default=30.0, gt=0)
    # The whole fetch of one run, retries included: a CBS slow enough to pass it leaves the
    # users not fetched by then as check errors (exit 1), or the run failed (exit 3).
    deadline_s: float = Field(default=3600.0, gt=0)
    max_concurrency: int = Field(default=8, ge=1, le=256)
    verify_tls: bool = True
    ca_bundle: str | None = None
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


class _LocatedProblems(ValueError):
    """Problems a model validator found deeper in the config, each with its key path, so
    that they are reported at their own line rather than at the top of the file."""

    def __init__(self, problems: list[tuple[tuple[Any, ...], str]]) -> None:
        super().__init__("; ".join(f"{_dotted(loc)}: {message}" for loc, message in problems))
        self.problems = problems


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
        problems: list[tuple[tuple[Any, ...], str]] = []
        known = f"known: {', '.join(self.notifiers) or 'none'}"
        ids: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.id in ids:
                problems.append((("rules", i, "id"), f"rule id {rule.id!r} is used twice"))
            ids.add(rule.id)
            for j, name in enumerate(rule.notify):
                if name not in self.notifiers:
                    problems.append(
                        (("rules", i, "notify", j), f"unknown notifier {name!r} ({known})")
                    )
        for i, entry in enumerate(self.watch):
            for j, rule_id in enumerate(entry.rules or []):
                if rule_id not in ids:
                    problems.append((("watch", i, "rules", j), f"unknown rule {rule_id!r}"))
        for key, builtin in (
            ("meta_alert", self.meta_alert),
            ("unchecked_alert", self.unchecked_alert),
        ):
            for j, name in enumerate(builtin.notify or []):
                if name not in self.notifiers:
                    problems.append(((key, "notify", j), f"unknown notifier {name!r} ({known})"))
        if problems:
            raise _LocatedProblems(problems)
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


class _Source:
    """The parsed YAML with the line of every key, and the env variables that were missing."""

    def __init__(self, path: str, *, expand_env: bool = True) -> None:
        self.path = path
        self.expand_env = expand_env
        self.lines: dict[tuple[Any, ...], int] = {}
        self.missing: list[tuple[tuple[Any, ...], str]] = []
        self.literal_secrets: list[tuple[Any, ...]] = []

    def build(self, node: yaml.Node, path: tuple[Any, ...] = ()) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = yaml.safe_load(yaml.serialize(key_node)) if key_node.tag else key_node.value
                result[key] = self.build(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        value = yaml.safe_load(yaml.serialize(node))
        if isinstance(value, str):
            if path and str(path[-1]) in _SECRET_KEYS and "${" not in value and value:
                self.literal_secrets.append(path)
            return self.expand(value, path) if self.expand_env else value
        return value

    def expand(self, text: str, path: tuple[Any, ...]) -> Any:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group("name"), match.group("default")
            value = os.environ.get(name)
            if value is None or (value == "" and default is not None):
                if default is None:
                    self.missing.append((path, name))
                    return ""
                return default
            return value

        expanded = _ENV.sub(replace, text)
        whole = _ENV.fullmatch(text)
        if whole and whole.group(0) != "$$" and expanded == "":
            return None if whole.group("default") is None else expanded
        return expanded

    def line(self, loc: tuple[Any, ...]) -> tuple[int | None, str]:
        """The line of the deepest known key of a pydantic error location, and its dotted path."""
        known: list[Any] = []
        for part in loc:
            if (*known, part) in self.lines:
                known.append(part)
        return self.lines.get(tuple(known)), _dotted(tuple(known))


_M = TypeVar("_M", bound=BaseModel)
_SECRET_KEYS = frozenset({"sys_password", "password", "token", "webhook_url", "heartbeat_url"})


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


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
    """Read, expand and validate a config file; raises ``ConfigError`` listing every problem."""
    file = find_config(path)
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: the config file is not UTF-8 text") from None
    config = parse_config(text, name)
    _warn_if_world_readable(file, config)
    return config


# libyaml when the wheel has it: ten times faster on a ten-thousand-user watch list, and
# its nodes carry the same line marks the error messages use.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_config(text: str, name: str = "<config>") -> Config:
    config, source = parse_document(text, name, Config)
    config._source = name
    config._literal_secrets = [_dotted(p) for p in source.literal_secrets]
    return config


def parse_document(
    text: str,
    name: str,
    model: type[_M],
    *,
    what: str = "configuration",
    expand_env: bool = True,
) -> tuple[_M, _Source]:
    """Parse a YAML (or JSON) document into ``model``; raise ``ConfigError`` listing every
    problem as ``file:line: key.path: message``. Used for the config file and for the
    simulator's data file (``what="simulator data"``, no ``${ENV}`` expansion)."""
    source = _Source(name, expand_env=expand_env)
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if node is None:
        raise ConfigError(f"{name}: the {what} file is empty")
    raw = source.build(node)
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}:1: the {what} file must be a mapping of keys to values")
    problems = [
        f"{name}:{source.lines.get(path, '?')}: {_dotted(path)}: environment variable "
        f"{var} is not set (and has no ${{{var}:-default}})"
        for path, var in source.missing
    ]
    try:
        config = model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_format_errors(exc, source))
        config = None
    if problems or config is None:
        count = len(problems)
        raise ConfigError(
            f"{name}: {count} problem{'s' if count != 1 else ''} in the {what}",
            problems=problems,
        )
    return config, source


def _format_errors(exc: ValidationError, source: _Source) -> Iterator[str]:
    missing = {path for path, _ in source.missing}
    for error in exc.errors(include_url=False, include_input=False):
        line, dotted = source.line(tuple(error["loc"]))
        if any(tuple(error["loc"][: len(p)]) == p for p in missing):
            continue  # already reported as a missing environment variable
        message = error["msg"].removeprefix("Value error, ")
        ctx = error.get("ctx") or {}
        if isinstance(ctx.get("error"), _LocatedProblems):
            for loc, text in ctx["error"].problems:
                at, where = source.line((*error["loc"], *loc))
                yield f"{source.path}:{at if at is not None else '?'}: {where}: {text}"
            continue
        if error["type"] == "extra_forbidden":
            message = f"unknown key {error['loc'][-1]!r}"
        elif error["type"] == "union_tag_invalid":
            message = (
                f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} "
                f"{ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
            )
        elif error["type"] == "union_tag_not_found":
            message = f"missing {ctx.get('discriminator', 'kind').strip(chr(39))}"
        yield f"{source.path}:{line if line is not None else '?'}: {dotted}: {message}"


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
