"""What goes wrong with servers, on loopback: each failure is one line on stderr and a documented
exit code (1: the server; 2: the input does not fit), and the API key is never shown."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from remote_server import free_port, start_server
from remote_stub import Stub, forwarding

from marco_cli.cli import main
from marco_cli.engine.base import Request
from marco_cli.engine.http import JsonClient, ServerError
from marco_cli.engine.remote import RemoteEngine


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_nothing_listening_on_the_port(capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(capsys, "solve", "--server", url, "What is 1+1?")
    assert code == 1
    line = error_line(err)
    assert f"cannot reach the server at {url}" in line and "nothing listening" in line


def test_bench_checks_its_strategies_before_it_reaches_the_servers(capsys, tmp_path) -> None:
    """The servers' engines are opened once the data and strategies are checked: a bad one is
    a usage error, though nothing listens at the server's address."""
    url = f"http://127.0.0.1:{free_port()}"
    toy = tmp_path / "toy.tsv"
    toy.write_text("What is 1+1?\t2\n", encoding="utf-8")
    args = ("bench", "--server", url, "--concurrency", "2", "-d", str(toy), "-s", "mcts-nope")
    code, _, err = run(capsys, *args)
    assert code == 2 and "mcts-nope" in error_line(err)


def test_a_url_that_is_not_a_completion_server(capsys) -> None:
    with Stub({}) as stub:
        code, _, err = run(capsys, "solve", "--server", stub.url + "/nope", "hi")
    assert code == 1
    assert "neither as llama-server" in error_line(err)


def test_https_to_a_plain_http_port_is_a_tls_error(capsys) -> None:
    with Stub({}) as stub:  # answers plain HTTP only: the TLS handshake cannot succeed
        url = stub.url.replace("http://", "https://")
        code, _, err = run(capsys, "solve", "--server", url, "What is 1+1?")
    assert code == 1
    line = error_line(err)
    assert f"cannot reach the server at {url}: a TLS error" in line


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers on them."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        held: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            listener.settimeout(0.1)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    held.append(listener.accept()[0])  # kept open, never read nor written

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield int(listener.getsockname()[1])
        stop.set()
        thread.join()
        for connection in held:
            connection.close()


def test_a_server_that_never_answers_times_out(capsys, monkeypatch, silent_port: int) -> None:
    monkeypatch.setattr(
        "marco_cli.engine.remote.JsonClient", functools.partial(JsonClient, timeout=0.5)
    )
    url = f"http://127.0.0.1:{silent_port}"
    started = time.monotonic()
    code, _, err = run(capsys, "solve", "--server", url, "What is 1+1?")
    assert code == 1 and time.monotonic() - started < 10
    assert f"the server at {url} did not answer within 0.5 s" in error_line(err)


def test_503_is_retried_with_backoff_then_fails(capsys, monkeypatch) -> None:
    monkeypatch.setattr("marco_cli.engine.http.time.sleep", lambda seconds: None)
    with Stub({"GET /props": lambda body: (503, {"error": {"message": "Loading model"}})}) as stub:
        code, _, err = run(capsys, "translate", "--server", stub.url, "--tgt", "en", "你好")
    assert code == 1
    assert "busy or loading (HTTP 503)" in error_line(err)
    assert stub.paths() == ["GET /props"] * 5  # the first try and 4 retries


def test_503_then_an_answer_succeeds_after_growing_pauses() -> None:
    answers = iter([(503, {}), (503, {}), (200, {"ok": True})])
    pauses: list[float] = []
    with Stub({"GET /x": lambda body: next(answers)}) as stub:
        client = JsonClient(stub.url, sleep=pauses.append)
        assert client.get("/x") == {"ok": True}
    assert pauses == [0.25, 0.5]


def test_a_server_that_drops_the_connection_mid_request(tiny_server: str) -> None:
    # The real server answers everything but completions: those are cut unanswered.
    with Stub(forwarding(tiny_server, lambda path, body: path == "/completion")) as stub:
        engine = RemoteEngine(stub.url)
        with pytest.raises(ServerError, match="closed") as exc:
            engine.generate(Request((1, 2, 3), max_tokens=4))
    assert "\n" not in exc.value.message
    engine.close()


@pytest.mark.tiny
def test_the_server_stopped_mid_run(llama_server_binary: Path, tiny_model_path: Path, tmp_path):
    server = start_server(llama_server_binary, tiny_model_path, tmp_path / "log", parallel=1)
    engine = RemoteEngine(server.url)
    prompt = tuple(engine.chat_tokens([{"role": "user", "content": "hi"}]))
    assert engine.generate(Request(prompt, max_tokens=4)).tokens
    server.stop()
    with pytest.raises(ServerError, match=f"cannot reach the server at {server.url}"):
        engine.generate(Request(prompt, max_tokens=4))
    engine.close()


@pytest.mark.tiny
def test_a_context_too_small_for_the_question(
    capsys, llama_server_binary: Path, tiny_model_path: Path, tmp_path
) -> None:
    server = start_server(
        llama_server_binary, tiny_model_path, tmp_path / "log", ctx=256, parallel=1
    )
    try:
        code, _, err = run(capsys, "solve", "--server", server.url, "word " * 400)
    finally:
        server.stop()
    assert code == 2
    line = error_line(err)
    assert "tokens" in line and "256" in line


def test_the_api_key_is_sent_as_a_bearer_header_and_never_shown(capsys, monkeypatch) -> None:
    monkeypatch.setenv("MARCO_API_KEY", "sk-secret-123")
    with Stub({"GET /props": lambda body: (401, {"error": "bad key"})}) as stub:
        code, out, err = run(capsys, "solve", "--server", stub.url, "--verbose", "hi")
    assert code == 1
    _, _, headers = stub.requests[0]
    assert headers["Authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in out + err


def test_ctrl_c_cuts_the_requests_in_flight() -> None:
    release = threading.Event()
    props = {"default_generation_settings": {"n_ctx": 512}, "model_path": "/m/x.gguf"}

    def busy(body: dict) -> tuple[int, dict]:
        release.wait(30)  # a server busy generating: answers once the test lets it
        return 200, {}

    routes = {
        "GET /props": lambda body: (200, props),
        "POST /tokenize": lambda body: (200, {"tokens": [5]}),
        "POST /completion": busy,
    }
    with Stub(routes) as stub:
        engine = RemoteEngine(stub.url, parallel=4)

        def interrupt_once_all_are_sent() -> None:
            while stub.paths().count("POST /completion") < 3:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt_once_all_are_sent, daemon=True).start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            engine.generate_batch([Request((1, 2), max_tokens=4)] * 3)
        # The connections are closed at once, not waited on: the server has not answered.
        while engine._client._open and time.monotonic() - started < 5:
            time.sleep(0.01)
        assert not engine._client._open and not release.is_set()
        assert time.monotonic() - started < 5
        release.set()
        engine.close()
