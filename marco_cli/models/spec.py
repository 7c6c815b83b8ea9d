"""What the models layer talks about: registry entries, parsed names, files found, list rows.

Plain data; nothing here reads the disk or the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Source = Literal["path", "hf", "demo"]


ModelStatus = Literal["cached", "not cached", "ready", "installed", "not installed"]


@dataclass(frozen=True)
class RegistryEntry:
    """One alias of `models.yaml`, variants expanded (`marco-o1:q8_0` is an entry of its own)."""

    alias: str
    description: str
    display_name: str
    source: Literal["hf", "demo"]
    file: str
    size: int
    """Bytes; exact (and checked) for demo entries, approximate for Hugging Face ones."""
    repo: str | None = None
    sha256: str | None = None
    parts: tuple[str, ...] = ()
    """demo: `PACKAGE/PATH` of each part inside an installed package, in order."""
    extra: str | None = None
    """demo: the pip extra of marco-cli that installs the part packages (`demo`, `demo-1.5b`)."""
    listed: bool = True
    """False for the variant the bare alias already stands for (not shown twice)."""

    @property
    def size_exact(self) -> bool:
        return self.source == "demo"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model name: what to look for, before any disk or network access."""

    name: str
    """The name as given."""
    kind: Literal["auto", "path", "hf", "demo"]
    path: Path | None = None
    repo: str | None = None
    filename: str | None = None
    revision: str | None = None
    entry: RegistryEntry | None = None
    quant: str | None = None
    """hf without `filename` (`OWNER/REPO:QUANT`): the quantization whose file is picked from the
    repository's file list when the name is resolved; None picks the default one."""

    @property
    def alias(self) -> str | None:
        return self.entry.alias if self.entry else None

    @property
    def hf_name(self) -> str | None:
        """The `hf:` form of a Hugging Face spec."""
        if self.kind != "hf":
            return None
        rev = f"@{self.revision}" if self.revision else ""
        if self.filename is None:
            quant = f":{self.quant}" if self.quant else ""
            return f"hf.co/{self.repo}{rev}{quant}"
        return f"hf:{self.repo}{rev}/{self.filename}"

    @property
    def label(self) -> str:
        """How messages name the model."""
        if self.entry is not None:
            return self.entry.display_name
        if self.kind == "hf" and self.filename is None:
            return f"{self.repo}:{self.quant}" if self.quant else str(self.repo)
        if self.kind == "hf":
            return f"{self.repo}/{self.filename}"
        return self.name


@dataclass(frozen=True)
class ResolvedModel:
    """A model file on this machine, ready to load."""

    path: Path
    display_name: str
    """How every output names the model (solve --json, bench records, the speed suite): the
    registry's name for an alias, else the file's `general.name` (`resolve.file_model_name`)."""
    source: Source
    alias: str | None = None
    origin: str = ""
    """Where the file came from: `hf:OWNER/REPO/FILE`, the demo's pip extra, or the path itself."""

    @property
    def name(self) -> str:
        """Same as `display_name`."""
        return self.display_name


@dataclass(frozen=True)
class CachedFile:
    """A GGUF file in a cache (Hugging Face's or marco's own), as `marco models rm` deletes it."""

    path: Path
    """The file as models are loaded from it (for Hugging Face: the snapshot entry)."""
    size: int
    cache: Literal["hf", "marco"]
    repo: str | None = None
    filename: str | None = None
    """hf: the file's path inside the repository."""
    revision: str | None = None
    """hf: the commit of the snapshot holding the file."""


@dataclass(frozen=True)
class ModelInfo:
    """One row of `marco models list`."""

    alias: str
    description: str
    display_name: str
    source: Literal["hf", "demo"]
    size: int
    size_exact: bool
    status: ModelStatus
    path: Path | None
    origin: str
    quant: str | None = None
    """From the file name (`Q4_K_M`, `IQ4_XS`, `F16`, ...); None when the name has none."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "description": self.description,
            "display_name": self.display_name,
            "source": self.source,
            "size": self.size,
            "size_exact": self.size_exact,
            "status": self.status,
            "path": str(self.path) if self.path else None,
            "origin": self.origin,
            "quant": self.quant,
        }
