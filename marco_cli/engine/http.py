"""JSON over HTTP for the remote engine: one server, retries on overload, one-line errors.

Standard library only (`http.client`), so a remote run needs no extra package. Every failure a
user meets with servers becomes a `ServerError` whose message names the server and says what to
do; the API key (`MARCO_API_KEY`) goes into a Bearer header and never into a message. The
connections in flight are kept, so that `cancel` can close them: Ctrl-C then ends the requests
at once, and the server, seeing its client gone, stops working on them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from marco_cli.errors import MarcoError

RETRY_STATUSES = frozenset({429, 503})
"""Overloaded or still loading: worth asking again after a pause."""


class ServerError(MarcoError):
    """A server that cannot be reached or does not answer as a completion server does."""


@dataclass(frozen=True)
class HttpError(Exception):
    """A response with an error status, kept so callers can tell e.g. a too long prompt."""

    status: int
    body: str


@dataclass
class JsonClient:
    """Requests to one server's base URL; `retries` pauses of `backoff` * 2^n on 429/503."""

    base_url: str
    api_key: str | None = None
    timeout: float = 600.0
    retries: int = 4
    backoff: float = 0.25
    sleep: Callable[[float], None] | None = None
    """How to pause between retries (default time.sleep; tests pass their own)."""

    _open: set[http.client.HTTPConnection] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerError(
                f"--server takes an http:// or https:// address, e.g. http://host:8080, "
                f"not {self.base_url!r}"
            )
        self._https = parts.scheme == "https"
        self._host, self._port, self._path = parts.hostname, parts.port, parts.path

    def get(self, path: str) -> Any:
        return self.request("GET", path, None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """The decoded JSON answer; HttpError on an error status, ServerError when there is
        no usable answer at all."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for attempt in range(self.retries + 1):
            try:
                status, raw = self._send(method, self._path + path, data, headers)
            except ssl.SSLError as exc:
                raise self._unreachable(exc) from None
            except TimeoutError:
                raise ServerError(
                    f"the server at {self.base_url} did not answer within {self.timeout:g} s"
                ) from None
            except (OSError, http.client.HTTPException) as exc:  # refused, or cut mid-answer
                raise self._unreachable(exc) from None
            if status in RETRY_STATUSES and attempt < self.retries:
                (self.sleep or time.sleep)(self.backoff * 2**attempt)
                continue
            if status in RETRY_STATUSES:
                raise ServerError(
                    f"the server at {self.base_url} is busy or loading (HTTP {status}) and "
                    f"still was after {self.retries} retries; try again later"
                )
            if status >= 400:
                raise HttpError(status, raw.decode("utf-8", errors="replace"))
            try:
                return json.loads(raw)
            except ValueError:
                raise ServerError(
                    f"{url} did not answer with JSON; is --server the address of a completion "
                    "server (llama-server, vLLM, SGLang)?"
                ) from None
        raise AssertionError("unreachable: the loop returns or raises")

    def _send(
        self, method: str, target: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.timeout)
        with self._lock:
            self._open.add(connection)
        try:
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            with self._lock:
                self._open.discard(connection)
            connection.close()

    def cancel(self) -> None:
        """Cut every request in flight: each fails at once in the thread that sent it."""
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            sock = connection.sock  # read once: the sending thread may close it meanwhile
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)

    def _unreachable(self, reason: object) -> ServerError:
        if isinstance(reason, ssl.SSLError):
            what = f"a TLS error ({reason.reason or reason})"
        elif isinstance(reason, socket.gaierror):
            what = f"unknown host {self._host!r}"
        elif isinstance(reason, ConnectionRefusedError):
            what = "nothing listening there"
        elif isinstance(reason, TimeoutError):
            what = f"no answer within {self.timeout:g} s"
        elif isinstance(
            reason,
            ConnectionResetError
            | ConnectionAbortedError
            | BrokenPipeError
            | http.client.HTTPException,
        ):
            what = "the connection was closed (did the server stop?)"
        else:
            what = str(getattr(reason, "strerror", None) or reason)
        return ServerError(f"cannot reach the server at {self.base_url}: {what}")
