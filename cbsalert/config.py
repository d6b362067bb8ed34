"""The configuration file: YAML, ``${ENV}`` expansion, pydantic validation with line numbers.

Unknown keys are errors everywhere (a typo must not silently disable a rule). Every
problem is reported as ``file:line: key.path: message`` so that a user finds it at once.
Secrets are ``SecretStr`` from the moment they are read, and are meant to come from the
environment: ``sys_password: ${CBSALERT_SYS_PASSWORD}``.

Here: the whole ``Config`` (what refers to what across sections) and finding and loading
the file. Its sections are in ``configsections``, reading YAML in ``yamlconf``, turning
problems into ``file:line`` messages (``parse_document``) in ``configerrors``; the names
other modules import from here stay importable from here.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Union
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cbsalert.configerrors import Located, LocatedProblems
from cbsalert.configerrors import parse_document as parse_document
from cbsalert.configpath import CONFIG_DIR, config_dir
from cbsalert.configreports import ReportConfig, StatusPage, report_problems
from cbsalert.configsections import CbsConfig as CbsConfig
from cbsalert.configsections import MetaAlert as MetaAlert
from cbsalert.configsections import Strict, check_zone
from cbsalert.configsections import UncheckedAlert as UncheckedAlert
from cbsalert.configsections import WatchEntry as WatchEntry
from cbsalert.errors import ConfigError, StateError
from cbsalert.notify import NOTIFIER_KINDS, NotifierConfig
from cbsalert.rules import RULE_KINDS, RuleBase
from cbsalert.schedule import cron_trigger as cron_trigger  # re-exported: its home until now
from cbsalert.schedule import longest_gap, valid_cron
from cbsalert.state.engine import state_url
from cbsalert.yamlconf import dotted

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATHS = ("cbsalert.yaml", "rules.yaml", "/etc/cbsalert/cbsalert.yaml")


if TYPE_CHECKING:
    AnyRule = RuleBase
    AnyNotifier = NotifierConfig
else:
    AnyRule = Annotated[Union[tuple(RULE_KINDS.values())], Field(discriminator="kind")]  # noqa: UP007
    AnyNotifier = Annotated[
        Union[tuple(NOTIFIER_KINDS.values())],  # noqa: UP007
        Field(discriminator="type"),
    ]


class Config(Strict):
    cbs: CbsConfig
    timezone: str = "UTC"
    schedule: str = "0 7 * * *"
    state: str = "sqlite:///cbsalert.db"
    watch: list[WatchEntry] = Field(min_length=1)
    rules: list[AnyRule] = Field(min_length=1)
    notifiers: dict[str, AnyNotifier] = Field(default_factory=dict)
    max_attempts: int = Field(default=5, ge=1, le=100)
    retention_days: int = Field(default=90, ge=1)
    # Days of job history kept (cbsalert.state.jobhistory): what the history rule kinds
    # compare with, the report's days, how far back backfill may go; 0 keeps none.
    history_days: int = Field(default=400, ge=0)
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
    # What serve shows of job history (cbsalert.configreports): a page beside /metrics,
    # and reports sent on their own schedules.
    status_page: StatusPage = Field(default_factory=StatusPage)
    reports: list[ReportConfig] = Field(default_factory=list)

    _source: str = PrivateAttr(default="")
    _selections: list[tuple[int, WatchEntry]] = PrivateAttr(default_factory=list)
    _literal_secrets: list[str] = PrivateAttr(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

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
        return valid_cron(value)

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
            first = logins.setdefault(entry.login, i) if entry.select is None else i
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
        for name, notifier in self.notifiers.items():
            if notifier.wants_all_firing:  # its alerts must outlive the gap to the next run
                gap = longest_gap(self.schedule, self.timezone)
                problem = notifier.schedule_problem(gap)
                if problem:
                    problems.append(Located(("notifiers", name), problem))
        problems += self._history_problems()
        problems += report_problems(self)
        if problems:
            raise LocatedProblems(problems)
        # From here on ``watch`` holds the named users only, which is what every step of a
        # run reads; each run resolves the selections into more of them (``watchlist``).
        self._selections = [(i, e) for i, e in enumerate(self.watch) if e.select is not None]
        self.watch = [e for e in self.watch if e.select is None]
        return self

    def _history_problems(self) -> list[Located]:
        """A rule that reads more days of history than are kept would never see them."""
        return [
            Located(
                ("rules", i, "kind"),
                f"rule {rule.id!r} reads {rule.history_days()} days of job history, but "
                f"history_days is {self.history_days}: raise history_days to at least "
                f"{rule.history_days()}",
            )
            for i, rule in enumerate(self.rules)
            if rule.history_days() > self.history_days
        ]

    @property
    def selections(self) -> list[tuple[int, WatchEntry]]:
        """The ``select`` entries of ``watch`` as written, each with its index there (the
        ``watch[i]`` messages name); ``watch`` itself holds the named users."""
        return self._selections

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
        if self.status_page.token is not None:
            values.append(self.status_page.token.get_secret_value())
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


def parse_config(text: str, name: str = "<config>", *, folder: Path | None = None) -> Config:
    """The config in ``text``; ``folder`` is where its relative paths start (None: as given)."""
    config, document = parse_document(text, name, Config, context={CONFIG_DIR: folder})
    config._source = name
    config._literal_secrets = [dotted(p) for p in document.literal_secrets]
    return config


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
