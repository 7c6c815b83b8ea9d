"""Benchmark datasets: MGSM by name, or a local TSV / JSON Lines file.

`mgsm-<lang>` (mgsm-en, mgsm-zh, ...) is looked up, in order, in the folder named by
MARCO_MGSM_DIR, in the Hugging Face cache, and finally downloaded from the dataset
`juletxara/mgsm` (unless HF_HUB_OFFLINE is set). Any other value is a file:

- TSV: `question<TAB>answer` per line, no header, split on tabs (quotes are text). Extra
  columns are kept in `Problem.extra`. Blank lines are skipped; a first line
  `question<TAB>answer` is taken as a header and skipped.
- JSON Lines (`.jsonl`/`.json`, or a file whose first character is `{`): one object per line
  with `question` and `answer` (a string or a number) and optionally `id`.

In both, a line longer than `MAX_LINE_CHARS` is an error naming it.

Problem ids are the 1-based row numbers (or the JSONL `id`), so the same MGSM problem has the
same id in every language.

MGSM: Shi et al. 2022 (arXiv 2210.03057), from GSM8K (Cobbe et al. 2021); CC BY 4.0.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from marco_cli.errors import MarcoError, UsageError

__all__ = [
    "MGSM_LANGUAGES",
    "MGSM_REPO",
    "Dataset",
    "Problem",
    "load_dataset",
    "load_datasets",
    "parse_ids",
    "read_problems",
    "select_problems",
]

MGSM_REPO = "juletxara/mgsm"
MGSM_LANGUAGES = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
MGSM_DIR_ENV = "MARCO_MGSM_DIR"
MGSM_ATTRIBUTION = (
    "MGSM (Shi et al. 2022, arXiv 2210.03057; from GSM8K, Cobbe et al. 2021), CC BY 4.0"
)

_MGSM_NAME = re.compile(r"mgsm[-_](?P<lang>[a-z]{2})", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    id: str
    question: str
    answer: str
    extra: tuple[str, ...] = ()
    """Columns after the answer in a TSV file (e.g. keyword checks for translation)."""


@dataclass(frozen=True)
class Dataset:
    name: str
    """Short name used in results and tables: `mgsm-en`, or the file's stem."""
    path: Path
    sha256: str
    problems: tuple[Problem, ...]
    total: int = 0
    """Problems in the file before selection."""
    attribution: str | None = None
    selection: dict = field(default_factory=dict)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mgsm_file(lang: str) -> Path:
    """The local path of `mgsm_<lang>.tsv`: MARCO_MGSM_DIR, the HF cache, or a download."""
    filename = f"mgsm_{lang}.tsv"
    folder = os.environ.get(MGSM_DIR_ENV)
    if folder:
        path = Path(folder).expanduser() / filename
        if path.is_file():
            return path
        raise UsageError(
            f"{MGSM_DIR_ENV}={folder} has no {filename}; fix it or pass --dataset PATH"
        )
    from huggingface_hub import hf_hub_download

    from marco_cli.models.hub import (
        HubUnreachable,
        check_reachable,
        hf_cache_dir,
        hf_offline,
        quiet_hub,
    )

    where = f"the Hugging Face cache ({hf_cache_dir()})"
    local = (
        f"pass --dataset PATH to a local copy of {filename} (or set {MGSM_DIR_ENV} to its folder)"
    )

    def download(local_only: bool = False) -> Path:
        return Path(
            hf_hub_download(
                MGSM_REPO,
                filename,
                repo_type="dataset",
                cache_dir=hf_cache_dir(),
                local_files_only=local_only,
            )
        )

    try:
        return download(local_only=True)
    except Exception:  # not cached: LocalEntryNotFoundError and friends
        pass
    if hf_offline():
        raise MarcoError(
            f"mgsm-{lang}: {filename} of the dataset {MGSM_REPO} is not in {where} and downloads "
            f"are off (HF_HUB_OFFLINE is set); {local}"
        )
    try:
        check_reachable(f"mgsm-{lang}: huggingface.co cannot be reached to download {filename}")
        with quiet_hub():
            return download()
    except HubUnreachable as exc:
        raise MarcoError(f"{exc.message}; {local}") from None
    except Exception as exc:  # the network boundary: one line instead of a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MarcoError(
            f"mgsm-{lang}: cannot download {filename} from the Hugging Face dataset {MGSM_REPO} "
            f"({first}); {local}"
        ) from None


MAX_LINE_CHARS = 1 << 20
"""Longest line a dataset file may hold: a problem of a million characters fits no model's
context, so such a line is a broken file (a missing newline), reported before any model runs."""


def _check_length(path: Path, line_no: int, line: str) -> None:
    if len(line) > MAX_LINE_CHARS:
        raise UsageError(
            f"{path}:{line_no}: line of {len(line):,} characters, over the limit of "
            f"{MAX_LINE_CHARS:,} (no model context holds such a problem; is a newline missing?)"
        )


def _read_tsv(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for line_no, line in enumerate(fh, 1):
            _check_length(path, line_no, line)
            # One record per line and no quoting: a split, without csv's field-size limit.
            cells = [cell.strip() for cell in line.rstrip("\r\n").split("\t")]
            if not any(cells):
                continue
            if not problems and [c.lower() for c in cells[:2]] == ["question", "answer"]:
                continue
            if len(cells) < 2 or not cells[0] or not cells[1]:
                raise UsageError(
                    f"{path}:{line_no}: expected question<TAB>answer (tab-separated, no header)"
                )
            problems.append(Problem(str(len(problems) + 1), cells[0], cells[1], tuple(cells[2:])))
    return problems


def _read_jsonl(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    with open(path, encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, 1):
            _check_length(path, line_no, line)
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
            if not isinstance(item, dict) or "question" not in item or "answer" not in item:
                raise UsageError(f'{path}:{line_no}: expected {{"question": ..., "answer": ...}}')
            question, answer = str(item["question"]).strip(), str(item["answer"]).strip()
            if not question or not answer:
                raise UsageError(f"{path}:{line_no}: empty question or answer")
            pid = str(item.get("id", len(problems) + 1))
            problems.append(Problem(pid, question, answer))
    return problems


def _is_jsonl(path: Path) -> bool:
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return True
    if path.suffix.lower() in (".tsv", ".txt", ".csv"):
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        head = fh.read(4096).lstrip()
    return head.startswith("{")


def read_problems(path: Path) -> list[Problem]:
    """All problems of a local TSV or JSONL file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"dataset file {path} does not exist; fix --dataset")
    problems = _read_jsonl(path) if _is_jsonl(path) else _read_tsv(path)
    if not problems:
        raise UsageError(f"dataset file {path} holds no problems")
    seen: set[str] = set()
    for problem in problems:
        if problem.id in seen:
            raise UsageError(f"{path}: problem id {problem.id!r} appears twice")
        seen.add(problem.id)
    return problems


def parse_ids(text: str | Iterable[str] | None) -> list[str] | None:
    """`"1,3,10-12"` -> ["1", "3", "10", "11", "12"]; None stays None."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    ids: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if match:
            low, high = int(match[1]), int(match[2])
            if low > high:
                raise UsageError(f"--ids: range {part} runs backwards")
            ids.extend(str(i) for i in range(low, high + 1))
        else:
            ids.append(part)
    return ids


@dataclass(frozen=True)
class Selection:
    """Which problems of each data set: ids (1-based rows, e.g. "1,4,10-20"), offset, limit."""

    ids: str | None = None
    offset: int = 0
    limit: int | None = None


EVERY_PROBLEM = Selection()


class HasId(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=HasId)


def select_problems(
    problems: Sequence[Item],
    *,
    ids: Sequence[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[Item]:
    """Problems (or translation lines) with the given ids (in the given order), then skip
    `offset`, keep `limit`."""
    if offset < 0 or (limit is not None and limit < 0):
        raise UsageError("--offset and --limit must not be negative")
    chosen = list(problems)
    if ids is not None:
        by_id = {p.id: p for p in problems}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise UsageError(
                f"--ids: no problem with id {', '.join(missing[:5])} "
                f"(ids run {problems[0].id}..{problems[-1].id})"
            )
        chosen = [by_id[i] for i in dict.fromkeys(ids)]
    chosen = chosen[offset:]
    if limit is not None:
        chosen = chosen[:limit]
    return chosen


def dataset_name(spec: str) -> str:
    """`mgsm-en` for `mgsm-en`, `mgsm_en.tsv` or any path to such a file; else the file stem."""
    path = Path(spec)
    match = _MGSM_NAME.fullmatch(path.stem if path.suffix else spec)
    if match:
        return f"mgsm-{match['lang'].lower()}"
    return path.stem or spec


def load_dataset(
    spec: str,
    *,
    ids: Sequence[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Dataset:
    """Resolve `spec` (an MGSM name or a file path), read it and select problems."""
    spec = str(spec).strip()
    path = Path(spec).expanduser()
    match = _MGSM_NAME.fullmatch(spec)
    if match and not path.exists():
        lang = match["lang"].lower()
        if lang not in MGSM_LANGUAGES:
            raise UsageError(
                f"unknown MGSM language {lang!r}: use one of {', '.join(MGSM_LANGUAGES)}"
            )
        path = _mgsm_file(lang)
    elif not path.exists():
        raise UsageError(
            f"dataset {spec!r} is neither a file nor an MGSM name (mgsm-en, mgsm-zh, ...); "
            "fix --dataset"
        )
    problems = read_problems(path)
    name = dataset_name(spec)
    chosen = select_problems(problems, ids=ids, offset=offset, limit=limit)
    if not chosen:
        raise UsageError(f"{name}: the selection (--ids/--offset/--limit) holds no problems")
    return Dataset(
        name=name,
        path=path,
        sha256=_sha256(path),
        problems=tuple(chosen),
        total=len(problems),
        attribution=MGSM_ATTRIBUTION if name.startswith("mgsm-") else None,
        selection={"ids": list(ids) if ids else None, "offset": offset, "limit": limit},
    )


def load_datasets(
    specs: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[Dataset]:
    """Several datasets (`--dataset` repeated or comma-separated), the same selection in each."""
    names: list[str] = []
    for spec in specs:
        parts = [spec] if Path(spec).expanduser().exists() else spec.split(",")
        names.extend(p.strip() for p in parts if p.strip())
    if not names:
        raise UsageError("--dataset is empty: name mgsm-en, mgsm-zh, ... or a file")
    loaded = [load_dataset(n, ids=ids, offset=offset, limit=limit) for n in names]
    seen: set[str] = set()
    for ds in loaded:
        if ds.name in seen:
            raise UsageError(f"dataset {ds.name} is named twice; results are keyed by it")
        seen.add(ds.name)
    return loaded
