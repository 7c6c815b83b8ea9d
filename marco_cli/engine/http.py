"""JSON over HTTP for the remote engine: one server, retries on overload, one-line errors.

Standard library only (`urllib`), so a remote run needs no extra package. Every failure a user
meets with servers becomes a `ServerError` whose message names the server and says what to do;
the API key (`MARCO_API_KEY`) goes into a Bearer header and never into a message.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

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
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as exc:
                text = exc.read().decode("utf-8", errors="replace")
                if exc.code in RETRY_STATUSES and attempt < self.retries:
                    (self.sleep or time.sleep)(self.backoff * 2**attempt)
                    continue
                if exc.code in RETRY_STATUSES:
                    raise ServerError(
                        f"the server at {self.base_url} is busy or loading (HTTP {exc.code}) and "
                        f"still was after {self.retries} retries; try again later"
                    ) from None
                raise HttpError(exc.code, text) from None
            except urllib.error.URLError as exc:
                raise self._unreachable(exc.reason) from None
            except TimeoutError:
                raise ServerError(
                    f"the server at {self.base_url} did not answer within {self.timeout:g} s"
                ) from None
            except (ConnectionError, OSError, http.client.HTTPException) as exc:  # cut mid-answer
                raise self._unreachable(exc) from None
            try:
                return json.loads(raw)
            except ValueError:
                raise ServerError(
                    f"{url} did not answer with JSON; is --server the address of a completion "
                    "server (llama-server, vLLM, SGLang)?"
                ) from None
        raise AssertionError("unreachable: the loop returns or raises")

    def _unreachable(self, reason: object) -> ServerError:
        if isinstance(reason, ssl.SSLError):
            what = f"a TLS error ({reason.reason or reason})"
        elif isinstance(reason, ConnectionRefusedError):
            what = "nothing listening there"
        elif isinstance(reason, TimeoutError):
            what = f"no answer within {self.timeout:g} s"
        elif isinstance(reason, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            what = "the connection was closed (did the server stop?)"
        else:
            what = str(getattr(reason, "strerror", None) or reason)
        return ServerError(f"cannot reach the server at {self.base_url}: {what}")
