"""Helpers shared by the tests/test_bench_*.py files."""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def mgsm_dir() -> Path | None:
    """The MGSM data folder (MARCO_MGSM_DIR, else ../shared/data/mgsm beside the repo), or None."""
    env = os.environ.get("MARCO_MGSM_DIR")
    folder = Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "mgsm"
    return folder if (folder / "mgsm_en.tsv").is_file() else None


MGSM_MISSING = "MGSM data folder ../shared/data/mgsm is absent (or set MARCO_MGSM_DIR)"


def write_results(path: Path, records: list[dict]) -> Path:
    """A results file holding `records`, one JSON line each."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
