"""A real llama.cpp `llama-server` for the tests: found, started on loopback, stopped.

The binary comes from MARCO_LLAMA_SERVER (CI sets it from scripts/llama-server.sh), else from
the script's cache when it has already built one; the tests that need it skip otherwise.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "llama-server.sh"
# Read at import, before the per-test isolated home moves XDG_CACHE_HOME away from the build.
_CACHE_HOME = os.environ.get("XDG_CACHE_HOME")


def find_binary() -> tuple[Path | None, str]:
    """The llama-server binary, or None and why there is none."""
    given = os.environ.get("MARCO_LLAMA_SERVER")
    if given:
        return Path(given), ""
    env = dict(os.environ, PYTHON=sys.executable)  # the llama-cpp-python this test runs
    env.pop("XDG_CACHE_HOME", None)
    if _CACHE_HOME is not None:
        env["XDG_CACHE_HOME"] = _CACHE_HOME
    done = subprocess.run(
        ["bash", str(SCRIPT), "--cached"], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode == 0:
        return Path(done.stdout.strip().splitlines()[-1]), ""
    return None, (
        "no llama-server binary: set MARCO_LLAMA_SERVER, or build one once with "
        "scripts/llama-server.sh"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One llama-server process; `url` is its base address."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    binary: Path,
    model: Path,
    log: Path,
    *,
    ctx: int = 8192,
    parallel: int = 4,
    slot_save: bool = True,
) -> Server:
    """Start llama-server on a free loopback port and wait until it serves (GET /health).

    With `slot_save` it may save and restore slots (--slot-save-path, next to the log), as
    README's command lets it: the remote engine copies a prompt between slots that way.
    """
    port = free_port()
    command = [
        str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
        "-c", str(ctx), "-np", str(parallel), "-t", "2", "--no-warmup",
    ]  # fmt: skip
    if slot_save:
        slots = log.parent / "slots"
        slots.mkdir(exist_ok=True)
        command += ["--slot-save-path", str(slots)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama-server exited ({process.returncode}): {log.read_text()}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"llama-server did not start within 120 s: {log.read_text()}")
