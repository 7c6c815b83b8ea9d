"""Resuming a results file: what it holds must be what this run would write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marco_cli.bench.attempts import ModelRef
from marco_cli.bench.datasets import Dataset
from marco_cli.bench.store import ResultStore
from marco_cli.errors import UsageError
from marco_cli.search import upgrade_config_json

_NOT_COMPARED = ("samples",)
"""Options that may change between runs of one file (more samples only add attempts)."""


def check_resume(
    store: ResultStore,
    model: ModelRef,
    planned: dict[tuple[str, str], dict[str, Any]],
    datasets: Sequence[Dataset] = (),
) -> None:
    """A file holds one model, one version of each dataset, and one set of options per
    (dataset, strategy); resuming or extending it with anything else is refused."""
    sha_by_name = {ds.name: ds.sha256 for ds in datasets}
    for record in store:
        other = (record.get("model") or {}).get("sha256")
        if other and other != model.sha256:
            raise UsageError(
                f"{store.path} holds results of another model "
                f"({(record.get('model') or {}).get('name')}, sha256 {other[:12]}…): "
                "use another --out for this model"
            )
        name = str(record["dataset"])
        data_sha = (record.get("dataset_file") or {}).get("sha256")
        if name in sha_by_name and data_sha and data_sha != sha_by_name[name]:
            raise UsageError(
                f"{store.path} holds results on another version of {name} (the file's sha256 "
                "differs): use another --out"
            )
        key = (name, str(record["strategy"]))
        if key not in planned:
            continue
        old = {
            k: v
            for k, v in _upgraded(record.get("options") or {}).items()
            if k not in _NOT_COMPARED
        }
        new = {k: v for k, v in planned[key].items() if k not in _NOT_COMPARED}
        if old != new:
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise UsageError(
                f"{store.path} holds {key[1]} results on {key[0]} run with other options "
                f"({', '.join(diff)} differ): use the same options to resume, or another --out"
            )


def _upgraded(options: dict[str, Any]) -> dict[str, Any]:
    """A record's options with its search in today's field names (files written before the
    budgets took their flags' names resume as they did)."""
    if not options.get("search"):
        return options
    return {**options, "search": upgrade_config_json(options["search"])}
