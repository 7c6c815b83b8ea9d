"""Hugging Face: where its cache is, whether downloads are off, finding, listing, downloading
and deleting files.

Files live in the standard Hugging Face cache (HF_HOME / HF_HUB_CACHE), so they are shared with
other tools. huggingface_hub is imported only when a file is looked up or fetched.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies

from marco_cli.errors import ModelError
from marco_cli.files import format_size
from marco_cli.models.spec import CachedFile, ModelSpec

_SHA256 = re.compile(r"[0-9a-f]{64}")

REACH_TIMEOUT = 2.0
"""Seconds to wait for a connection to the hub before calling it unreachable. huggingface_hub
itself retries a failed connection five times over about 24 s, printing a line each time."""


class HubUnreachable(ModelError):
    """The file is not cached and cannot be downloaded now (offline or no connection)."""


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def hf_offline() -> bool:
    """Whether Hugging Face downloads are switched off (HF_HUB_OFFLINE, read now and at import)."""
    from huggingface_hub import constants

    return (
        bool(constants.HF_HUB_OFFLINE)
        or _env_true("HF_HUB_OFFLINE")
        or _env_true("TRANSFORMERS_OFFLINE")
    )


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, from the environment as it is now (huggingface_hub reads it
    once at import)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.path.expandvars(os.environ[var])).expanduser()
    if os.environ.get("HF_HOME"):
        home = Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
        home = Path(xdg).expanduser() / "huggingface"
    return home / "hub"


@contextmanager
def quiet_hub(verbose: bool = False) -> Iterator[None]:
    """huggingface_hub's own log lines ("Retrying in 8s [Retry 5/5]") off for the block unless
    `verbose`: marco says what went wrong in one line. Its download bar still shows on a
    terminal (it turns itself off when stderr is not one)."""
    import huggingface_hub  # noqa: F401  (it sets its logger's level when first imported)

    logger = logging.getLogger("huggingface_hub")
    before = logger.level
    logger.setLevel(logging.INFO if verbose else logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


def check_reachable(unreachable: str, timeout: float = REACH_TIMEOUT) -> None:
    """Raise HubUnreachable(`unreachable`) unless a TCP connection to the hub's endpoint
    (HF_ENDPOINT, default huggingface.co) opens within `timeout` seconds. The name lookup runs
    in a thread of its own too: a resolver that does not answer can block far longer. Behind
    a proxy (HTTPS_PROXY and the like) a direct connection says nothing, so none is tried."""
    from huggingface_hub import constants

    parts = urlsplit(constants.ENDPOINT)
    if parts.scheme in getproxies():
        return
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    outcome: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(True)
        except OSError:
            outcome.append(False)

    probe = threading.Thread(target=connect, name="marco-hub-probe", daemon=True)
    probe.start()
    probe.join(timeout)
    if outcome != [True]:
        raise HubUnreachable(unreachable)


def hf_cached_path(spec: ModelSpec) -> Path | None:
    """The cached file of a Hugging Face spec, or None; never touches the network."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    assert spec.repo is not None and spec.filename is not None
    try:
        path = hf_hub_download(
            spec.repo,
            spec.filename,
            revision=spec.revision,
            cache_dir=hf_cache_dir(),
            local_files_only=True,
        )
    except (EntryNotFoundError, OSError, ValueError):
        return None
    return Path(path)


def hf_download(
    spec: ModelSpec,
    *,
    unreachable: str,
    on_note: Callable[[str], None],
    verbose: bool = False,
) -> Path:
    """Download the file of a Hugging Face spec into the cache; its path. `on_note` hears
    that the download starts; `verbose` lets huggingface_hub log as it does.

    Raises HubUnreachable with the message `unreachable` when huggingface.co cannot be reached
    (the caller knows what else the user can do), ModelError for every other failure.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    assert spec.repo is not None and spec.filename is not None
    check_reachable(unreachable)
    size = f" (~{format_size(spec.entry.size)})" if spec.entry else ""
    on_note(
        f"downloading {spec.label}{size} from huggingface.co/{spec.repo} "
        f"into {hf_cache_dir()} (once)"
    )
    try:
        with quiet_hub(verbose):
            path = hf_hub_download(
                spec.repo,
                spec.filename,
                revision=spec.revision,
                cache_dir=hf_cache_dir(),
            )
    except GatedRepoError:
        raise ModelError(
            f"{spec.repo} is gated on Hugging Face: accept its terms at "
            f"https://huggingface.co/{spec.repo} and log in with `hf auth login`"
        ) from None
    except RepositoryNotFoundError:
        raise ModelError(
            f"Hugging Face repository {spec.repo} not found (if it is private, log in with "
            "`hf auth login`)"
        ) from None
    except RevisionNotFoundError:
        raise ModelError(f"revision {spec.revision!r} not found in {spec.repo}") from None
    except RemoteEntryNotFoundError:
        raise ModelError(
            f"Hugging Face repository {spec.repo} has no file {spec.filename}"
        ) from None
    except LocalEntryNotFoundError:
        raise HubUnreachable(unreachable) from None
    except HfHubHTTPError as exc:
        raise ModelError(f"downloading {spec.label} failed: {_first_line(exc)}") from None
    except Exception as exc:  # the network boundary: one line instead of a traceback
        if _is_connection_error(exc):
            raise HubUnreachable(unreachable) from None
        if isinstance(exc, OSError):
            raise ModelError(f"downloading {spec.label} failed: {exc}") from None
        raise
    return Path(path)


def _first_line(exc: Exception) -> str:
    """An HTTP error in one line: the hub's messages run over several."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    # httpx's network errors all derive from TransportError (whatever httpx flavour is in use).
    return any(cls.__name__ == "TransportError" for cls in type(exc).__mro__)


def _repo_folder(repo: str) -> Path:
    return hf_cache_dir() / f"models--{repo.replace('/', '--')}"


def hf_cached_commit(repo: str, revision: str | None) -> str | None:
    """The commit the cache holds for `revision` (default: main) of `repo`, or None."""
    folder = _repo_folder(repo)
    ref = folder / "refs" / (revision or "main")
    if ref.is_file():
        return ref.read_text(encoding="utf-8").strip()
    if revision and (folder / "snapshots" / revision).is_dir():
        return revision  # a commit hash given as the revision has no ref file
    return None


def hf_cached_repo_files(repo: str, revision: str | None) -> list[str]:
    """The files of `repo` at `revision` (default: main) that are in the cache, as paths inside
    the repository; [] when none are. Never touches the network."""
    commit = hf_cached_commit(repo, revision)
    if commit is None:
        return []
    snapshot = _repo_folder(repo) / "snapshots" / commit
    if not snapshot.is_dir():
        return []
    return sorted(
        path.relative_to(snapshot).as_posix() for path in snapshot.rglob("*") if path.is_file()
    )


def hf_repo_files(
    repo: str, revision: str | None, *, unreachable: str, verbose: bool = False
) -> list[str]:
    """The files of `repo` at `revision` on huggingface.co. Raises HubUnreachable with the
    message `unreachable` when it cannot be reached, ModelError for every other failure."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    check_reachable(unreachable)
    try:
        with quiet_hub(verbose):
            return sorted(HfApi().list_repo_files(repo, revision=revision))
    except GatedRepoError:
        raise ModelError(
            f"{repo} is gated on Hugging Face: accept its terms at https://huggingface.co/{repo} "
            "and log in with `hf auth login`"
        ) from None
    except RepositoryNotFoundError:
        raise ModelError(
            f"Hugging Face repository {repo} not found (if it is private, log in with "
            "`hf auth login`)"
        ) from None
    except RevisionNotFoundError:
        raise ModelError(f"revision {revision!r} not found in {repo}") from None
    except HfHubHTTPError as exc:
        raise ModelError(f"listing the files of {repo} failed: {_first_line(exc)}") from None
    except Exception as exc:  # the network boundary: one line instead of a traceback
        if _is_connection_error(exc):
            raise HubUnreachable(unreachable) from None
        raise


def hf_cached_ggufs() -> list[CachedFile]:
    """Every GGUF file in the Hugging Face cache (model repositories, every cached revision)."""
    from huggingface_hub import CacheNotFound, scan_cache_dir

    try:
        info = scan_cache_dir(hf_cache_dir())
    except CacheNotFound:
        return []
    found = [
        CachedFile(
            path=file.file_path,
            size=file.size_on_disk,
            cache="hf",
            repo=repo.repo_id,
            filename=file.file_path.relative_to(revision.snapshot_path).as_posix(),
            revision=revision.commit_hash,
        )
        for repo in info.repos
        if repo.repo_type == "model"
        for revision in repo.revisions
        for file in revision.files
        if file.file_name.lower().endswith(".gguf")
    ]
    return sorted(found, key=lambda f: (f.repo or "", f.filename or "", f.revision or ""))


def hf_delete(cached: CachedFile) -> None:
    """Delete a cached file the way huggingface_hub does: its snapshot entry, and its blob when
    no other cached file (another revision of the same file) still points to it."""
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(hf_cache_dir())
    files = [
        file
        for repo in info.repos
        for revision in repo.revisions
        for file in revision.files
        if file.file_path == cached.path
    ]
    if not files:
        raise ModelError(f"{cached.path} is no longer in the Hugging Face cache")
    info.delete_files(*files).execute()


def hf_blob_sha256(path: Path) -> str | None:
    """The sha256 the Hugging Face cache already records for a cached file: the name of the blob
    its snapshot entry links to (LFS files, which GGUF files are, are stored under their sha256;
    small git files under a 40-digit git hash). None when `path` is no such link."""
    if not path.is_symlink():
        return None
    blob = path.resolve()
    if blob.parent.name != "blobs" or not _SHA256.fullmatch(blob.name):
        return None
    return blob.name
