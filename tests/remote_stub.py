"""A scripted HTTP server on loopback for the remote engine's tests: recorded answers, errors
and dropped connections, without a model."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any] | None
"""(status, JSON body), or None to close the connection without answering."""
Route = Callable[[dict[str, Any]], Answer]


@dataclass
class Stub:
    """Routes "METHOD /path" to functions of the request's JSON body; records every request."""

    routes: dict[str, Route]
    requests: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def __enter__(self) -> Stub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                key = f"{method} {self.path}"
                stub.requests.append((key, body, dict(self.headers)))
                route = stub.routes.get(key)
                answer = route(body) if route else (404, {"error": "not found"})
                if answer is None:
                    self.close_connection = True
                    self.connection.close()
                    return
                status, payload = answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        return [key for key, _, _ in self.requests]


LLAMA_SERVER_ROUTES = (
    ("GET", "/props"),
    ("POST", "/tokenize"),
    ("POST", "/detokenize"),
    ("POST", "/apply-template"),
    ("POST", "/completion"),
)


def forwarding(server: str, drop: Callable[[str, dict[str, Any]], bool]) -> dict[str, Route]:
    """Routes that pass llama-server's endpoints on to a real `server`, except the requests
    `drop(path, body)` picks: for those the connection closes unanswered, as when a server
    stops mid-run."""

    def route(path: str) -> Route:
        def answer(body: dict[str, Any]) -> Answer:
            if drop(path, body):
                return None
            data = json.dumps(body).encode() if body else None
            request = urllib.request.Request(
                server + path, data=data, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())

        return answer

    return {f"{method} {path}": route(path) for method, path in LLAMA_SERVER_ROUTES}
