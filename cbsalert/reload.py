"""``serve``'s config reloads: read the file again when told to (SIGHUP) or when it changed
(checked before each run), and keep the running config whenever the new one cannot be
used, for whatever reason: a broken file must never stop the watch.

A reload asked for by a signal runs in a daemon thread of its own, so the main thread
only ever waits for signals: a reload stuck on a slow file (a hung network mount) never
keeps SIGTERM from being taken, and the process exits without waiting for it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from cbsalert.config import Config, load_config
from cbsalert.errors import ConfigError, redact
from cbsalert.notify.testmsg import check_templates

log = logging.getLogger(__name__)


def load_checked(path: Path) -> Config:
    """The config, with every template rendered once: a broken template is a config error
    at start or reload, not a delivery failure at 7 a.m."""
    config = load_config(path)
    check_templates(config)
    return config


class Reloader:
    """Loads ``path`` again and hands a good config to ``apply(config, reason)``."""

    def __init__(
        self,
        path: Path,
        apply: Callable[[Config, str], None],
        secrets: Callable[[], list[str]],
    ) -> None:
        self.path = path
        self._apply = apply
        self._secrets = secrets  # of the running config, to redact from an odd error
        self._stamp = _stamp(path)
        self._lock = threading.Lock()  # one reload at a time
        self._state = threading.Lock()  # guards the three below
        self._wanted: str | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    def request(self, reason: str) -> None:
        """Reload in the background; requests made meanwhile are merged into one more."""
        with self._state:
            self._wanted = reason
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._requested, name="cbsalert-reload", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """No more background reloads (one in progress is left to finish or hang)."""
        with self._state:
            self._stopped = True

    def reload_if_changed(self) -> None:
        if _stamp(self.path) != self._stamp:
            self.reload("file changed")

    def reload(self, reason: str) -> bool:
        """Load the file again and apply it; on any problem keep the config we have."""
        with self._lock:
            try:
                return self._reload(reason)
            except Exception as exc:  # a bug in loading must not cost the running config
                detail = redact(f"{type(exc).__name__}: {exc}", self._secrets())
                log.error(
                    "config reload (%s) failed, keeping the previous config: %s: %s",
                    reason, self.path, detail,
                )  # fmt: skip
                log.debug("the reload failed here", exc_info=True)
                return False

    def _reload(self, reason: str) -> bool:
        self._stamp = _stamp(self.path)
        try:
            new = load_checked(self.path)
        except ConfigError as exc:
            # Each problem names file:line: key already; one line per event, so join them.
            detail = "; ".join(exc.problems) or str(exc)
            log.error("config reload (%s) failed, keeping the previous config: %s", reason, detail)
            return False
        with self._state:
            if self._stopped:  # the service is stopping: nothing to apply it to
                return False
        self._apply(new, reason)
        return True

    def _requested(self) -> None:
        while True:
            with self._state:
                reason, self._wanted = self._wanted, None
                if reason is None or self._stopped:
                    self._thread = None
                    return
            self.reload(reason)


def _stamp(path: Path) -> str | None:
    """The file's content hash: mtimes can be too coarse to see a quick second edit."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
