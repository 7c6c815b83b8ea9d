"""Answer extraction for math benchmarks: table-driven over real output shapes."""

from __future__ import annotations

import pytest

from marco_cli.answers import answer_key, answers_match, extract_answer, parse_number

CASES = [
    # --- Marco-o1 style full responses -------------------------------------------------------
    (
        "<Thought>\n16 - 3 - 4 = 9 eggs. 9 * 2 = 18.\n</Thought>\n<Output>\n"
        "Janet makes $18 every day at the farmers' market.\n</Output>",
        "18",
    ),
    (
        "<Thought>Let me compute 2 + 1 = 3 bolts... wait, 2 + 2 = 4?</Thought>"
        "<Output>It takes **3** bolts in total.</Output>",
        "3",
    ),
    # The thought's numbers never count when there is an <Output>.
    ("<Thought>The answer is 12.</Thought><Output>The answer is 7.</Output>", "7"),
    # Unclosed output (budget ran out after the number).
    ("<Thought>x</Thought><Output>He made a profit of $70,000", "70000"),
    # Several <Output> blocks: the last one.
    ("<Output>5</Output> more thinking <Output>6</Output>", "6"),
    # No <Output>, but a closed thought: what follows it.
    ("<Thought>3 + 4 = 7</Thought>\nSo the result is 8 apples.", "8"),
    # A plain answer (SolveResult.answer is already the <Output> text).
    ("Janet makes $18 every day.", "18"),
    ("18", "18"),
    # --- \boxed ------------------------------------------------------------------------------
    ("<Output>The total is \\boxed{42} dollars, i.e. 21 * 2.</Output>", "42"),
    ("\\boxed{1,234}", "1234"),
    ("\\boxed{\\frac{3}{4}}", "0.75"),
    ("\\boxed{\\$ 1{,}500}", "1500"),
    ("first \\boxed{3} then \\boxed{5}", "5"),
    ("\\boxed{\\text{18 dollars}}", "18"),
    # --- answer markers beat a trailing number -------------------------------------------------
    ("The answer is 18 (because 9 × 2).", "18"),
    ("**Answer:** 460 minutes, which is 7 hours 40 min", "460"),
    ("Final answer: $64 for 2 pairs.", "64"),
    ("答案是 20 元（每人 5 元）。", "20"),
    ("答：她每天赚 18 美元", "18"),
    # a marker far from any number falls back to the last number
    ("The answer is, after carefully adding everything up, that she has 12 left.", "12"),
    # --- thousands separators and decimals -----------------------------------------------------
    ("He made $70,000 in profit.", "70000"),
    ("The house is worth 1,234,567 dollars.", "1234567"),
    ("It costs $1,234.50 in total.", "1234.5"),
    ("The answer is 3.50.", "3.5"),
    ("She runs 0.25 miles.", "0.25"),
    ("That is 18.00 dollars.", "18"),
    ("The numbers are 3,4,5 and 6.", "6"),
    ("1,2345 items", "2345"),
    # --- full-width digits and punctuation -----------------------------------------------------
    ("答案是１８。", "18"),
    ("总共是１，２００元", "1200"),
    ("结果为３．５米", "3.5"),
    # --- negative numbers ----------------------------------------------------------------------
    ("The temperature is -5 degrees.", "-5"),
    ("The change is −12 points.", "-12"),
    ("He lost -$20 overall.", "-20"),
    ("答案是-3", "-3"),
    ("10-3 = 7", "7"),
    ("- 18 apples remain", "18"),  # a Markdown bullet, not a sign
    # --- units and currency --------------------------------------------------------------------
    ("$18", "18"),
    ("€45 per month", "45"),
    ("¥300", "300"),
    ("£7.5", "7.5"),
    ("It takes 40 minutes.", "40"),
    ("The price increased by 150%.", "150"),
    ("He drives 60mph for 3 hours, so 180km.", "180"),
    ("5 kg", "5"),
    # --- Chinese text around digits ------------------------------------------------------------
    ("她每天在农贸市场赚18美元。", "18"),
    ("所以一共需要3匹布料", "3"),
    ("他赚了70000美元的利润", "70000"),
    ("共计 1.5万元", "15000"),
    ("3万", "30000"),
    ("全国有2亿人", "200000000"),
    ("距离是5千米", "5"),
    ("重5千克", "5"),
    ("有3千人", "3000"),
    # Chinese numerals without any Arabic digit
    ("她每天赚十八美元。", "18"),
    ("一共两百五十个", "250"),
    ("答案是三万五千", "35000"),
    # --- fractions and LaTeX -------------------------------------------------------------------
    ("The fraction is 3/4.", "0.75"),
    ("$\\frac{1}{2}$ of the cake", "0.5"),
    ("So 16 / 2 = 8", "8"),
    ("The total is $1\\,000.", "1000"),
    # --- names with digits are not numbers -----------------------------------------------------
    ("Option B2 costs 30 dollars, not x2", "30"),
    # --- nothing to find -----------------------------------------------------------------------
    ("", None),
    ("I don't know.", None),
    ("<Thought>16 - 3 - 4 = 9</Thought><Output></Output>", None),
    ("<Output>Nobody knows.</Output>", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("18", "18"), ("5,600", "5600"), ("114,200", "114200"), ("-3", "-3"), ("2.50", "2.5")],
)
def test_parse_reference(reference: str, expected: str) -> None:
    assert parse_number(reference) == expected


@pytest.mark.parametrize(
    ("extracted", "reference", "match"),
    [
        ("18", "18", True),
        ("5600", "5,600", True),
        ("18.0", "18", True),
        ("18", "18.0", True),
        ("0.75", "0.75", True),
        ("17", "18", False),
        ("-18", "18", False),
        (None, "18", False),
        ("0.333333333", "0.3333333333", True),
        ("1800", "18", False),
    ],
)
def test_answers_match(extracted: str | None, reference: str, match: bool) -> None:
    assert answers_match(extracted, reference) is match


def test_every_mgsm_reference_parses() -> None:
    from bench_helpers import MGSM_MISSING, mgsm_dir

    folder = mgsm_dir()
    if folder is None:
        pytest.skip(MGSM_MISSING)
    from marco_cli.bench.datasets import read_problems

    for name in ("mgsm_en.tsv", "mgsm_zh.tsv"):
        for problem in read_problems(folder / name):
            value = parse_number(problem.answer)
            assert value is not None, problem
            # A perfect answer in a sentence is always judged correct.
            assert answers_match(extract_answer(f"The answer is {problem.answer}."), problem.answer)


def test_answer_key_compares_final_numbers_else_the_stripped_text():
    assert answer_key("The answer is 1,234.") == "1234"
    assert answer_key("It costs $18.00") == answer_key("18")
    assert answer_key("  Paris\n is  nice ") == "Paris is nice"
