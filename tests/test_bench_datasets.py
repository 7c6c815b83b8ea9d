"""Benchmark datasets: TSV quirks, JSON Lines, MGSM lookup, problem selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_helpers import MGSM_MISSING, mgsm_dir

from marco_cli.bench.datasets import (
    dataset_name,
    load_dataset,
    parse_ids,
    read_problems,
    select_problems,
)
from marco_cli.errors import MarcoError, UsageError


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_tsv_quirks(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.tsv",
        "\ufeff"  # a byte-order mark
        'He said "hi" 3 times, then "bye".\t3\r\n'  # quotes are text (QUOTE_NONE); CRLF
        "\n"  # a blank line
        "How much is 5,600 + 1?  \t 5,601 \n"  # stray spaces; thousands separators
        "Translate this\tref one\tmust:word\tmust-not:other\n"  # extra columns
        "   \t  \n",  # whitespace only
    )
    problems = read_problems(path)
    assert [p.id for p in problems] == ["1", "2", "3"]
    assert problems[0].question == 'He said "hi" 3 times, then "bye".'
    assert problems[0].answer == "3"
    assert problems[1].question == "How much is 5,600 + 1?"
    assert problems[1].answer == "5,601"
    assert problems[2].extra == ("must:word", "must-not:other")


def test_tsv_header_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "q.tsv", "question\tanswer\nOne plus one?\t2\n")
    problems = read_problems(path)
    assert [(p.id, p.answer) for p in problems] == [("1", "2")]


def test_tsv_missing_answer_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "q.tsv", "a\t1\n\nno answer here\n")
    with pytest.raises(UsageError, match=r"q\.tsv:3: expected question<TAB>answer"):
        read_problems(path)


def test_jsonl(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.jsonl",
        '{"question": "2+2?", "answer": 4}\n'
        "\n"
        '{"question": "中文问题", "answer": "1,000", "id": "zh-7"}\n',
    )
    problems = read_problems(path)
    assert [(p.id, p.question, p.answer) for p in problems] == [
        ("1", "2+2?", "4"),
        ("zh-7", "中文问题", "1,000"),
    ]


def test_jsonl_sniffed_without_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "problems", '{"question": "q", "answer": "1"}\n')
    assert read_problems(path)[0].answer == "1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"question": "q"}\n', r":1: expected \{"),
        ('{"question": "q", "answer": 1}\n{oops\n', r":2: not valid JSON"),
        ('{"question": "", "answer": 1}\n', r":1: empty question"),
        (
            '{"question": "a", "answer": 1, "id": 1}\n{"question": "b", "answer": 2, "id": 1}\n',
            "appears twice",
        ),
    ],
)
def test_jsonl_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_problems(write(tmp_path / "q.jsonl", text))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="holds no problems"):
        read_problems(write(tmp_path / "q.tsv", "\n\n"))


def test_parse_ids() -> None:
    assert parse_ids("1, 3,5-7") == ["1", "3", "5", "6", "7"]
    assert parse_ids(["2", "4-5"]) == ["2", "4", "5"]
    assert parse_ids(None) is None
    with pytest.raises(UsageError, match="backwards"):
        parse_ids("9-3")


def test_select_problems(tmp_path: Path) -> None:
    problems = read_problems(write(tmp_path / "q.tsv", "".join(f"q{i}\t{i}\n" for i in range(10))))
    assert [p.id for p in select_problems(problems, limit=3)] == ["1", "2", "3"]
    assert [p.id for p in select_problems(problems, offset=8)] == ["9", "10"]
    assert [p.id for p in select_problems(problems, offset=2, limit=2)] == ["3", "4"]
    chosen = select_problems(problems, ids=["5", "2", "5"], limit=5)
    assert [p.id for p in chosen] == ["5", "2"]
    with pytest.raises(UsageError, match="no problem with id 11"):
        select_problems(problems, ids=["11"])


def test_dataset_names() -> None:
    assert dataset_name("mgsm-en") == "mgsm-en"
    assert dataset_name("/data/mgsm/mgsm_zh.tsv") == "mgsm-zh"
    assert dataset_name("my/problems.jsonl") == "problems"


def test_load_local_file(tmp_path: Path) -> None:
    ds = load_dataset(str(write(tmp_path / "mine.tsv", "a\t1\nb\t2\nc\t3\n")), offset=1)
    assert ds.name == "mine" and ds.total == 3 and [p.id for p in ds.problems] == ["2", "3"]
    assert len(ds.sha256) == 64 and ds.attribution is None


def test_unknown_dataset() -> None:
    with pytest.raises(UsageError, match="neither a file nor an MGSM name"):
        load_dataset("no-such-thing")
    with pytest.raises(UsageError, match="unknown MGSM language 'xx'"):
        load_dataset("mgsm-xx")


def test_mgsm_offline_and_not_cached_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARCO_MGSM_DIR", raising=False)
    with pytest.raises(MarcoError) as info:
        load_dataset("mgsm-en")
    message = info.value.message
    assert "juletxara/mgsm" in message and "HF_HUB_OFFLINE" in message
    assert "--dataset PATH" in message and "\n" not in message


def test_mgsm_from_env_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = mgsm_dir()
    if folder is None:
        pytest.skip(MGSM_MISSING)
    monkeypatch.setenv("MARCO_MGSM_DIR", str(folder))
    en = load_dataset("mgsm-en", limit=30)
    zh = load_dataset("mgsm-zh", limit=30)
    assert en.total == zh.total == 250
    assert [p.id for p in en.problems] == [p.id for p in zh.problems]
    assert en.problems[0].answer == zh.problems[0].answer == "18"
    assert en.sha256 == "50021d0f28cc957edcb44e7806425b1c7fbd648ddcb9e0a8ec689d10e57d40fa"
    assert "CC BY 4.0" in (en.attribution or "")


def test_mgsm_env_folder_without_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_MGSM_DIR", str(tmp_path))
    with pytest.raises(UsageError, match="has no mgsm_en.tsv"):
        load_dataset("mgsm-en")


def test_mgsm_from_the_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file already in the Hugging Face cache is used offline, as models are."""
    folder = mgsm_dir()
    if folder is None:
        pytest.skip(MGSM_MISSING)
    monkeypatch.delenv("MARCO_MGSM_DIR", raising=False)
    import os

    from marco_cli.models.hub import hf_cache_dir

    snapshot = hf_cache_dir() / "datasets--juletxara--mgsm" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "mgsm_zh.tsv").write_bytes((folder / "mgsm_zh.tsv").read_bytes())
    refs = snapshot.parents[1] / "refs"
    refs.mkdir()
    (refs / "main").write_text("a" * 40)
    ds = load_dataset("mgsm-zh", ids=["3"])
    assert os.path.samefile(ds.path, snapshot / "mgsm_zh.tsv")
    assert ds.problems[0].answer == "70000"
