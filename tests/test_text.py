"""The one definition of Han characters."""

from __future__ import annotations

import pytest

from marco_cli.text import HAN_RUN, has_han, is_han


@pytest.mark.parametrize(
    ("char", "han"),
    [
        ("中", True),
        ("㐀", True),  # Extension A
        ("\u4dbf", True),
        ("\u4dc0", False),  # Yijing hexagram symbols, between Extension A and the main block
        ("\u9fff", True),
        ("\uf900", True),  # compatibility ideographs
        ("\ufaff", True),
        ("あ", False),
        ("한", False),
        ("，", False),
        ("a", False),
    ],
)
def test_is_han(char: str, han: bool) -> None:
    assert is_han(char) is han


def test_has_han_and_runs() -> None:
    assert has_han("The博主 recommends") and not has_han("ひらがな and ASCII")
    assert HAN_RUN.findall("The博主 says 好, ok") == ["博主", "好"]
