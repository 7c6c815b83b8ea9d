"""Prompt files: YAML documents in `prompts/` (shipped as `marco_cli.prompt_files`), overridable.

A user may point `--prompts DIR` (or `prompts:` in the config file) at a folder with their own
copies; a file missing there falls back to the shipped one.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from marco_cli.errors import UsageError


def load_prompts(name: str, directory: Path | None = None) -> dict[str, Any]:
    """The prompt document `name` (e.g. "solve") as a dict, from `directory` if it has it."""
    filename = f"{name}.yaml"
    if directory is not None and (Path(directory) / filename).is_file():
        path = Path(directory) / filename
        text = path.read_text(encoding="utf-8")
        origin = str(path)
    else:
        if directory is not None and not Path(directory).is_dir():
            raise UsageError(f"prompts folder {directory} does not exist; fix --prompts")
        text = (
            resources.files("marco_cli.prompt_files").joinpath(filename).read_text(encoding="utf-8")
        )
        origin = filename
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        raise UsageError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{origin}: expected a mapping of prompt names to text")
    return data
