"""Prompt sets: shipped files load typed, a user's file is laid key by key over them, and every
mistake in a user's file is one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from marco_cli.errors import UsageError
from marco_cli.prompts import (
    SolvePrompts,
    TranslatePrompts,
    load_solve_prompts,
    load_translate_prompts,
)

REFLECTION = "Wait! Maybe I made some mistakes! I need to rethink from scratch."


def test_shipped_sets_load_typed() -> None:
    solve = load_solve_prompts()
    translate = load_translate_prompts()
    assert isinstance(solve, SolvePrompts) and isinstance(translate, TranslatePrompts)
    assert solve.reflection == REFLECTION
    assert solve.system("zh").startswith("你是一个经过良好训练的AI助手，你的名字是Marco-o1")
    assert translate.examples and translate.examples[0].pair == "zh-en"
    assert translate.seed_first_term is True


def test_marco_system_prompt_is_shipped_once() -> None:
    """translate's chain-of-thought system prompt is solve's, not a second copy of it."""
    shipped = Path(__file__).parents[1] / "prompts"
    texts = [path.read_text(encoding="utf-8") for path in shipped.glob("*.yaml")]
    occurrences = sum(text.count("你的名字是Marco-o1") for text in texts)
    assert occurrences == 1
    assert load_translate_prompts().system("cot") == load_solve_prompts().system_zh
    assert load_translate_prompts().reflection == REFLECTION


def test_user_file_overrides_only_its_keys(tmp_path: Path) -> None:
    (tmp_path / "solve.yaml").write_text('reflection: "Hold on, let me check."\n', "utf-8")
    solve = load_solve_prompts(tmp_path)
    assert solve.reflection == "Hold on, let me check."
    assert solve.force_answer == load_solve_prompts().force_answer


def test_user_solve_system_prompt_reaches_translate(tmp_path: Path) -> None:
    (tmp_path / "solve.yaml").write_text("system_zh: You are terse.\n", "utf-8")
    assert load_translate_prompts(tmp_path).system("cot") == "You are terse."


def test_folder_without_the_file_uses_the_shipped_one(tmp_path: Path) -> None:
    assert load_solve_prompts(tmp_path) == load_solve_prompts()


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        ("solve.yaml", "reflekshun: x\n", "unknown prompt key `reflekshun`"),
        ("solve.yaml", "force_answer: null\n", "prompt `force_answer` is missing"),
        ("solve.yaml", "reflection: [a, b]\n", "prompt `reflection` must be text, not list"),
        ("solve.yaml", "reflection: 'x\n", "not valid YAML"),
        ("solve.yaml", "- just a list\n", "expected a mapping"),
        ("translate.yaml", "seed_first_term: maybe\n", "`seed_first_term` must be true or false"),
        ("translate.yaml", "instructions_cot: Into {target}.\n", "unknown placeholder {target}"),
        ("translate.yaml", "examples: [{pair: zh-en}]\n", "`examples` item 1 needs the keys"),
        ("translate.yaml", "examples: yes\n", "`examples` must be a list"),
    ],
)
def test_bad_user_file_is_one_line_naming_file_and_key(
    tmp_path: Path, filename: str, text: str, expected: str
) -> None:
    (tmp_path / filename).write_text(text, "utf-8")
    load = load_solve_prompts if filename == "solve.yaml" else load_translate_prompts
    with pytest.raises(UsageError) as error:
        load(tmp_path)
    message = error.value.message
    assert "\n" not in message
    assert str(tmp_path / filename) in message
    assert expected in message


def test_prompt_file_in_another_encoding(tmp_path: Path) -> None:
    (tmp_path / "solve.yaml").write_bytes("reflection: 再想想\n".encode("gb18030"))
    with pytest.raises(UsageError, match="not UTF-8"):
        load_solve_prompts(tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist; fix --prompts"):
        load_solve_prompts(tmp_path / "nope")


def test_unknown_system_prompt() -> None:
    with pytest.raises(UsageError, match="unknown system prompt 'fr'"):
        load_solve_prompts().system("fr")
