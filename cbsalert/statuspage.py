"""The status page: read-only HTML of job history, on ``serve``'s metrics port.

Routes (GET and HEAD only), added to the metrics port's WSGI app (``metrics.MetricsServer``),
so it has that server's bounds (connections, idle timeout, two threads):

* ``/`` and ``/status``: the grid of the last ``status_page.days`` days (``grid.html``), with
  the filters ``owner=`` and ``problems=1`` as a GET form; each user links to its page.
* ``/user?login=X``: that user's sets over ``status_page.user_days`` days and its firing
  alerts; 404 for a login neither watched nor in history.

Every page is rendered from the database on each request (nothing cached, nothing
written) and reloads itself every ``refresh_s`` seconds (a meta tag: no JavaScript). With
``status_page.token``, a request must carry it (``?token=`` or ``Authorization: Bearer``),
compared in constant time; without it the answer is 401 and holds no data. A token that
came in the URL is kept in the page's links and form, so browsing on works; it is never
logged (this app logs no request). Answers say ``Cache-Control: no-store`` and carry a
Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote
from wsgiref.types import StartResponse, WSGIEnvironment

from cbsalert.errors import StateError
from cbsalert.grid import html
from cbsalert.grid.source import (
    GridQuery,
    GridView,
    last_day,
    load_grid,
    named_users,
    no_history_line,
)
from cbsalert.labels import format_time, severity_badge

if TYPE_CHECKING:
    from cbsalert.config import Config
    from cbsalert.state import StateStore

log = logging.getLogger(__name__)

PATHS = frozenset({"/", "/status", "/user"})
USER_TEMPLATE = "status-user.html.j2"
_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
     "frame-ancestors 'none'"),
]  # fmt: skip


class StatusPages:
    """The WSGI app of the status page's routes, on the running config (``config()``, so a
    reload's new token, days or database apply at the next request)."""

    def __init__(
        self, config: Callable[[], Config], clock: Callable[[], datetime] | None = None
    ) -> None:
        self._config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        self._stores: dict[str, StateStore] = {}
        self._opening = threading.Lock()  # waitress answers from two threads

    def handles(self, path: str) -> bool:
        return self._config().status_page.enabled and path in PATHS

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        config = self._config()
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed", "only GET\n", plain=True)
        params = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        token = config.status_page.token
        if token is not None and not _authorized(environ, params, token.get_secret_value()):
            challenge = [("WWW-Authenticate", 'Bearer realm="cbsalert"')]
            return _answer(
                start_response,
                "401 Unauthorized",
                "a token is needed\n",
                plain=True,
                extra=challenge,
            )
        suffix = f"&token={quote(params['token'], safe='')}" if token and "token" in params else ""
        try:
            store = self._store(config)
            if environ.get("PATH_INFO") == "/user":
                status, body = self._user(config, store, params.get("login", ""), suffix)
            else:
                status, body = "200 OK", self._grid(config, store, params, suffix)
        except StateError as exc:
            log.warning("status page: %s", exc)
            said = "the state database cannot be read now; see the log\n"
            return _answer(start_response, "503 Service Unavailable", said, plain=True)
        return _answer(start_response, status, body)

    def close(self) -> None:
        with self._opening:
            for store in self._stores.values():
                store.close()
            self._stores.clear()

    # -- pages -----------------------------------------------------------------------------

    def _grid(self, config: Config, store: StateStore | None, params: dict[str, str],
              suffix: str) -> str:  # fmt: skip
        page = config.status_page
        owner = params.get("owner") or None
        problems = params.get("problems") in ("1", "on", "true")
        query = GridQuery(end=last_day(config, self._clock()), days=page.days, owner=owner,
                          only_problems=problems)  # fmt: skip
        view = self._view(config, store, query)
        known = {o for _, o in named_users(config.watch) if o} | {o.owner for o in view.grid.owners}
        owners = sorted(o for o in known | ({owner} if owner else set()) if o)
        filters: dict[str, Any] = {"owner": owner, "only_problems": problems, "owners": owners}
        if suffix:
            filters["token"] = params["token"]
        return html.page(
            view.grid, title=f"Backups on {config.cbs.name}", generated=self._now(config),
            filters=filters, refresh_s=page.refresh_s or None, user_link=True,
            link_suffix=suffix, notes=_notes(view, store),
        )  # fmt: skip

    def _user(self, config: Config, store: StateStore | None, login: str,
              suffix: str) -> tuple[str, str]:  # fmt: skip
        page = config.status_page
        query = GridQuery(end=last_day(config, self._clock()), days=page.user_days, login=login)
        view = self._view(config, store, query)
        watched = any(name == login for name, _ in named_users(config.watch))
        if not login or (not watched and not view.grid.rows):
            return "404 Not Found", html.page(
                view.grid, title="No such user", generated=self._now(config),
                notes=["No watched user has that login, and job history has none."],
                template=USER_TEMPLATE, alerts=[], back=f"./{suffix.replace('&', '?', 1)}",
            )  # fmt: skip
        alerts = [] if store is None else store.list_alerts(login=login)
        shown = [
            {"severity": severity_badge(a.get("severity") or "critical", emoji=False),
             "rule": a["rule"], "set": a.get("backup_set_name") or a.get("backup_set_id") or "",
             "summary": a.get("summary") or "",
             "since": format_time(a.get("since"), config.timezone)}
            for a in alerts
        ]  # fmt: skip
        return "200 OK", html.page(
            view.grid, title=f"{login} on {config.cbs.name}", generated=self._now(config),
            refresh_s=page.refresh_s or None, notes=_notes(view, store),
            template=USER_TEMPLATE, alerts=shown, back=f"./{suffix.replace('&', '?', 1)}",
        )  # fmt: skip

    def _view(self, config: Config, store: StateStore | None, query: GridQuery) -> GridView:
        if store is None:  # no check has run yet: an empty grid, every watched user named
            from cbsalert.grid.model import Grid, report_days

            grid = Grid(report_days(query.end, query.days))
            return GridView(grid, query, [name for name, _ in named_users(config.watch)])
        return load_grid(store.job_history, config.watch, query)

    def _now(self, config: Config) -> str:
        return format_time(self._clock(), config.timezone)

    def _store(self, config: Config) -> StateStore | None:
        """The store of the running config's ``state``, opened once; None while its SQLite
        file does not exist (before the first check). Never created nor upgraded here."""
        with self._opening:
            return self._open(config)

    def _open(self, config: Config) -> StateStore | None:
        store = self._stores.get(config.state)
        if store is None:
            from cbsalert.state import StateStore
            from cbsalert.state.engine import missing_sqlite_file

            store = StateStore(config.state, secrets=config.secrets())
            if missing_sqlite_file(store.engine):
                store.close()
                return None
            try:
                store.check_schema()
            except StateError:
                store.close()
                raise
            self._stores[config.state] = store
        return store


def _notes(view: GridView, store: StateStore | None) -> list[str]:
    if store is None:
        return ["No check has run yet: job history appears here after the first one."]
    note = no_history_line(view)
    return [f"{note}: cbsalert backfill --days {view.query.days}"] if note else []


def _authorized(environ: WSGIEnvironment, params: dict[str, str], token: str) -> bool:
    """The token from ``Authorization: Bearer`` or ``?token=``, compared in constant time."""
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    scheme, _, given = header.partition(" ")
    offered = given.strip() if scheme.lower() == "bearer" else params.get("token", "")
    return hmac.compare_digest(offered.encode(), token.encode())


def _answer(start_response: StartResponse, status: str, body: str, *, plain: bool = False,
            extra: list[tuple[str, str]] | None = None) -> list[bytes]:  # fmt: skip
    data = body.encode("utf-8")
    kind = "text/plain; charset=utf-8" if plain else "text/html; charset=utf-8"
    headers = [("Content-Type", kind), ("Content-Length", str(len(data))), *_HEADERS]
    start_response(status, headers + (extra or []))
    return [data]


__all__ = ["PATHS", "StatusPages"]
