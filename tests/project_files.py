"""The project's own files, as tests read them."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 has no tomllib: the same parser from PyPI, which the dev extra brings
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def extras() -> dict[str, list[str]]:
    """pyproject.toml's optional dependencies, by extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["optional-dependencies"]
