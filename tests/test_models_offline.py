"""Without a network, a command that needs the Hugging Face hub fails at once with marco's one
line: no retries, none of the hub's own log lines, and a hint that is not the command just run.

The hub is made unreachable for real (a port nothing listens on, or HF_HUB_OFFLINE); nothing
here needs a network.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marco_cli.models import hub

LIMIT_S = 3.0
"""The longest marco may take to say the hub cannot be reached."""
RETRIES_S = 10.0
"""Far below the 23 s huggingface_hub's own retries take (1 + 2 + 4 + 8 + 8 s), and far above
a command's start on a busy machine: a command that took longer waited for the hub."""


def _closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _marco(
    args: list[str], tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess, float]:
    environ = {
        **os.environ,
        "MARCO_CACHE_DIR": str(tmp_path / "marco"),
        "HF_HOME": str(tmp_path / "hf"),
        "NO_COLOR": "1",
        **env,
    }
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "MARCO_MODEL", "MARCO_SERVER"):
        environ.pop(name, None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "marco_cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, time.monotonic() - started


def _unreachable_env() -> dict[str, str]:
    return {"HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}", "HF_HUB_OFFLINE": "0"}


@pytest.mark.parametrize(
    "args",
    [
        ["solve", "--model", "marco-o1", "hi"],
        ["solve", "--model", "bartowski/Marco-o1-GGUF:q8_0", "hi"],
        ["models", "pull", "marco-o1"],
    ],
)
def test_unreachable_hub_is_one_line_and_fast(args: list[str], tmp_path: Path) -> None:
    done, took = _marco(args, tmp_path, **_unreachable_env())
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("marco: error:")]
    assert len(errors) == 1, done.stderr
    assert "cannot be reached" in errors[0]
    # nothing from the hub itself: only marco's lines (a note that a download starts at most)
    assert all(line.startswith("marco: ") for line in lines), done.stderr
    assert "Retry" not in done.stderr
    assert took < RETRIES_S, f"{args} took {took:.1f} s"
    assert done.stdout == ""


@pytest.mark.parametrize("offline", [{"HF_HUB_OFFLINE": "1"}, _unreachable_env()])
def test_pull_offline_does_not_send_the_user_back_to_pull(
    offline: dict[str, str], tmp_path: Path
) -> None:
    done, took = _marco(["models", "pull", "marco-o1"], tmp_path, **offline)
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("marco: error: cannot pull Marco-o1 7B Q4_K_M: ")
    assert "marco models pull" not in error
    assert 'pip install "marco-cli[demo-1-5b]"' in error
    assert took < RETRIES_S


def test_pull_from_an_unreachable_hub_gives_up_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process, without Python's start: what marco itself spends finding the hub gone."""
    from huggingface_hub import constants

    from marco_cli.models import pull_model

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with pytest.raises(hub.HubUnreachable, match="cannot be reached from here"):
        pull_model("marco-o1")
    assert time.monotonic() - started < LIMIT_S


def test_check_reachable_gives_up_on_a_resolver_that_hangs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name lookup or connection that never answers still ends after the timeout."""

    def hang(*_args: object, **_kwargs: object) -> socket.socket:
        time.sleep(30)
        raise OSError("never")

    monkeypatch.setattr(socket, "create_connection", hang)
    started = time.monotonic()
    with pytest.raises(hub.HubUnreachable, match="no hub"):
        hub.check_reachable("no hub", timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_check_reachable_passes_when_the_endpoint_listens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import constants

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        hub.check_reachable("unused")  # no exception


def test_check_reachable_leaves_a_proxied_hub_to_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A machine that reaches the hub only through a proxy must not be told it is offline."""
    from huggingface_hub import constants

    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(hub.HubUnreachable):
        hub.check_reachable("no hub")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    hub.check_reachable("no hub")  # no exception: the proxy decides


@pytest.mark.parametrize("verbose", [False, True])
def test_quiet_hub_hides_the_hubs_log_lines_unless_verbose(
    verbose: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """huggingface_hub logs its retries ("Retrying in 8s [Retry 5/5].") as warnings."""
    import huggingface_hub  # noqa: F401

    retries = logging.getLogger("huggingface_hub.utils._http")
    with hub.quiet_hub(verbose):
        retries.warning("Retrying in 8s [Retry 5/5].")
    assert ("Retrying in 8s [Retry 5/5]." in caplog.messages) is verbose
    retries.warning("after the block")
    assert "after the block" in caplog.messages
