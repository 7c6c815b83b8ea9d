"""Hugging Face: where its cache is, whether downloads are off, finding and downloading files.

Files live in the standard Hugging Face cache (HF_HOME / HF_HUB_CACHE), so they are shared with
other tools. huggingface_hub is imported only when a file is looked up or fetched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from marco_cli.errors import ModelError
from marco_cli.files import format_size
from marco_cli.models.spec import ModelSpec


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


def hf_download(spec: ModelSpec, *, unreachable: str, on_note: Callable[[str], None]) -> Path:
    """Download the file of a Hugging Face spec into the cache; its path. `on_note` hears
    that the download starts.

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
    size = f" (~{format_size(spec.entry.size)})" if spec.entry else ""
    on_note(
        f"downloading {spec.label}{size} from huggingface.co/{spec.repo} "
        f"into {hf_cache_dir()} (once)"
    )
    try:
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
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"downloading {spec.label} failed: {first}") from None
    except Exception as exc:  # the network boundary: one line instead of a traceback
        if _is_connection_error(exc):
            raise HubUnreachable(unreachable) from None
        if isinstance(exc, OSError):
            raise ModelError(f"downloading {spec.label} failed: {exc}") from None
        raise
    return Path(path)


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    # httpx's network errors all derive from TransportError (whatever httpx flavour is in use).
    return any(cls.__name__ == "TransportError" for cls in type(exc).__mro__)
