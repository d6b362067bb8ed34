"""A hostile CBS for tests: the simulator's world, answering what no CBS should when told to.

``HostileCbs`` is the simulator (every call not scripted gets the faithful answer, and every
call is logged), plus ``script()``: the matching calls get a ``Raw`` answer, written to the
wire as it is — any HTTP status, an HTML page, a body dripped a byte at a time, a gzip bomb,
a huge body streamed in pieces, a body cut short of its Content-Length. The helpers below
build the usual ones. Use it through the ``hostile`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import functools
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from cbsalert.devtools.loopback import QuietHandler
from cbsalert.devtools.simulator import Simulator

_PIECE = 64 * 1024


@dataclass(frozen=True)
class Raw:
    """One answer as it goes on the wire: ``head``, then ``filler`` ``times`` times, then
    ``tail`` (so a huge body is never held whole); ``cut_at`` sends only that many bytes of
    it and hangs up, while Content-Length promises all; ``drip_s`` pauses before each byte."""

    status: int = 200
    head: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    filler: bytes = b""
    times: int = 0
    tail: bytes = b""
    cut_at: int | None = None
    drip_s: float = 0.0

    @property
    def length(self) -> int:
        return len(self.head) + len(self.filler) * self.times + len(self.tail)

    def pieces(self) -> Iterator[bytes]:
        yield self.head
        for _ in range(self.times):
            yield self.filler
        yield self.tail


def status(code: int, page: str = "", content_type: str = "text/html") -> Raw:
    """Any HTTP status, with a page (an error page of a proxy or a web server)."""
    return Raw(code, page.encode(), content_type)


def html(code: int = 200, title: str = "Sign in") -> Raw:
    """An HTML page where the API's JSON belongs (a login portal, a web server's index)."""
    page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
    return status(code, page + "</body></html>")


def api_answer(payload: dict[str, Any]) -> Raw:
    return Raw(head=json.dumps(payload).encode())


def api_error(message: str, expt_type: str = "com.ahsay.obs.core.x") -> Raw:
    """A ``Status: Error`` answer with any message."""
    return api_answer({"Status": "Error", "Message": message, "ExptType": expt_type})


def drip(every_s: float, body: bytes = b'{"Status":"OK","Data":[]}' + b" " * 200) -> Raw:
    """A valid answer, one byte every ``every_s`` seconds."""
    return Raw(head=body, drip_s=every_s)


def huge(size: int) -> Raw:
    """A valid JSON answer of about ``size`` bytes: one long string as ``Data``."""
    return Raw(
        head=b'{"Status":"OK","Data":"', filler=b"x" * _PIECE, times=size // _PIECE, tail=b'"}'
    )


def gzip_bomb(decoded_size: int) -> Raw:
    """A small gzip body (about 1/1000 of it) that decodes to ``decoded_size`` zero bytes."""
    return Raw(head=_gzipped_zeros(decoded_size), headers={"Content-Encoding": "gzip"})


def gzipped(payload: dict[str, Any]) -> Raw:
    """A valid answer, gzip-encoded as a real server may send it."""
    packer = zlib.compressobj(wbits=31)
    body = packer.compress(json.dumps(payload).encode()) + packer.flush()
    return Raw(head=body, headers={"Content-Encoding": "gzip"})


def cut_short(keep: int, body: bytes = b'{"Status":"OK","Data":[{"ID":"1","Name":"Docs"}]}') -> Raw:
    """A body whose connection is closed after ``keep`` bytes of it."""
    return Raw(head=body, cut_at=keep)


@functools.cache
def _gzipped_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    parts = [packer.compress(zeros) for _ in range(size >> 20)]
    parts += [packer.compress(bytes(size & ((1 << 20) - 1))), packer.flush()]
    return b"".join(parts)


@dataclass
class _Rule:
    answer: Raw
    operation: str | None
    login: str | None
    count: int | None


class HostileCbs(Simulator):
    """The simulator, with raw answers scripted per operation and login."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rules: list[_Rule] = []
        self._rules_lock = threading.Lock()

    def script(
        self,
        answer: Raw,
        *,
        operation: str | None = None,
        login: str | None = None,
        count: int | None = None,
    ) -> None:
        """The next ``count`` calls (all of them when None) of ``operation`` for ``login``
        (any when None) get ``answer``. The first matching rule wins."""
        with self._rules_lock:
            self._rules.append(_Rule(answer, operation, login, count))

    def send_raw(self, handler: QuietHandler, operation: str, params: dict[str, Any]) -> bool:
        answer = self._take(operation, str(params.get("LoginName", "")))
        if answer is None:
            return False
        with suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            self._write(handler, answer)
        return True

    def _take(self, operation: str, login: str) -> Raw | None:
        with self._rules_lock:
            for rule in self._rules:
                if rule.operation in (None, operation) and rule.login in (None, login):
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self._rules.remove(rule)
                    return rule.answer
        return None

    def _write(self, handler: QuietHandler, answer: Raw) -> None:
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(answer.length))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        left = answer.length if answer.cut_at is None else answer.cut_at
        for piece in answer.pieces():
            piece = piece[:left]
            left -= len(piece)
            if answer.drip_s:
                for i in range(len(piece)):
                    if self.stopping.wait(answer.drip_s):  # the test is over
                        handler.close_connection = True
                        return
                    handler.wfile.write(piece[i : i + 1])
            elif piece:
                handler.wfile.write(piece)
        if answer.cut_at is not None:
            handler.close_connection = True
