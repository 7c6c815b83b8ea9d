"""Answers to math questions: pull the final number out of a model's reply, and compare answers.

Rules, applied in order (documented in `extract_answer`):

1. Where to look: the text of the last `<Output>` (up to `</Output>` or the end). A reply with
   no `<Output>` tag is looked at after `</Thought>` if it has one, else as a whole (a plain
   answer, or `SolveResult.answer`, is just text).
2. `\\boxed{...}` wins: the last boxed expression is the answer.
3. An explicit marker ("answer is", "answer:", "答案是", "答：", ...) followed closely by a
   number wins next: the first number after the last marker.
4. Otherwise the last number in the region.

Numbers are read after normalising full-width digits and punctuation, Unicode minus signs,
LaTeX thousands separators (`1{,}000`, `1\\,000`) and `\\frac{a}{b}`. A number may carry
thousands separators (`1,234,567`), a sign, a decimal part, a fraction `a/b`, and a Chinese
multiplier written after digits (`3万` = 30000, `1.5亿`); currency signs, units, percent signs
and Chinese text around it are ignored. When the region holds no Arabic digit at all, a
Chinese numeral (`十八`, `两百五十`) is read instead.

Answers are returned as canonical decimal strings ("18", "-3.5", "0.25") and compared
numerically with `answers_match` (benchmarks) or by `answer_key` (votes among search rollouts).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["answer_key", "answers_match", "extract_answer", "parse_number"]

_FULLWIDTH = {0xFF10 + i: ord("0") + i for i in range(10)}
_FULLWIDTH.update(
    {
        0xFF0C: ord(","),  # ，
        0xFF0E: ord("."),  # ．
        0xFF0D: ord("-"),  # －
        0x2212: ord("-"),  # − minus sign
        0x2013: ord("-"),  # – en dash (used as a minus by some models)
        0xFF0F: ord("/"),  # ／
        0xFF05: ord("%"),  # ％
        0xFF04: ord("$"),  # ＄
        0xFF1A: ord(":"),  # ：
        0x00A0: ord(" "),
        0x2009: ord(" "),
        0x202F: ord(" "),
    }
)

_OUTPUT_OPEN = re.compile(r"<\s*output\s*>", re.IGNORECASE)
_OUTPUT_CLOSE = re.compile(r"<\s*/\s*output\s*>", re.IGNORECASE)
_THOUGHT_CLOSE = re.compile(r"<\s*/\s*thought\s*>", re.IGNORECASE)

# A number: optional sign, digits with optional thousands groups, optional decimals, optional
# "/denominator", optional Chinese multiplier. The sign counts only when it is not a binary
# minus (not preceded by a digit, letter or closing bracket), checked in code.
_NUMBER = re.compile(
    r"(?P<sign>-)?(?:[$€£¥₹]\s?)?"
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)"
    r"(?P<frac>\.\d+)?"
    r"(?:\s?/\s?(?P<den>\d+(?:\.\d+)?)(?![\d/]))?"
    r"(?P<mult>\s?(?:万亿|亿|万|千(?![克米瓦卡焦帕赫字兆])))?"
)
_MULTIPLIERS = {"千": 1000, "万": 10_000, "亿": 100_000_000, "万亿": 1_000_000_000_000}

_ANSWER_MARKER = re.compile(
    r"\bfinal\s+answer\b(?:\s*\**\s*(?:is|=|:))?"
    r"|\banswer\b\s*\**\s*(?:is|was|=|:|would\s+be|will\s+be)"
    r"|答案\s*(?:是|为|:)?|答\s*:|结果\s*(?:是|为)",
    re.IGNORECASE,
)
# How far after a marker the number may start (e.g. "is: **$", "is approximately ").
_MARKER_REACH = 24

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_NUMERAL = re.compile(
    r"负?[零〇一二两三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+)?"
)


def _normalise(text: str) -> str:
    text = text.translate(_FULLWIDTH)
    # LaTeX: \frac{a}{b} -> a/b, 1{,}000 -> 1,000, 1\,000 / 1\!000 -> 1000, \$ -> $, \% -> %
    text = re.sub(r"\\[dt]?frac\s*\{\s*([^{}]+?)\s*\}\s*\{\s*([^{}]+?)\s*\}", r"\1/\2", text)
    text = text.replace("{,}", ",")
    text = re.sub(r"(?<=\d)\\[,!;: ](?=\d{3})", "", text)
    text = text.replace("\\$", "$").replace("\\%", "%")
    # A space used as a thousands separator ("1 000 000") is ambiguous with lists; not handled.
    return text


def _region(text: str) -> str:
    opens = list(_OUTPUT_OPEN.finditer(text))
    if opens:
        rest = text[opens[-1].end() :]
        close = _OUTPUT_CLOSE.search(rest)
        return rest[: close.start()] if close else rest
    closes = list(_THOUGHT_CLOSE.finditer(text))
    if closes:
        return text[closes[-1].end() :]
    return text


def _last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (or `\\fbox{...}`), braces balanced."""
    found = None
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        found = text[match.end() : i - 1] if depth == 0 else text[match.end() :]
    return found


def _canonical(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _binary_minus(before: str) -> bool:
    """Whether a "-" after `before` subtracts rather than negates ("10-3", "x-1", "(2) -1")."""
    if not before:
        return False
    last = before[-1]
    if last.isdigit() or last in ")]}" or (last.isascii() and last.isalpha()):
        return True
    stripped = before.rstrip()
    return bool(stripped) and last.isspace() and (stripped[-1].isdigit() or stripped[-1] in ")]}")


def _value(match: re.Match[str], text: str) -> Decimal | None:
    try:
        value = Decimal(match["int"].replace(",", "") + (match["frac"] or ""))
        if match["den"] is not None:
            den = Decimal(match["den"])
            if den == 0:
                return None
            value = (value / den).quantize(Decimal("1e-9")).normalize()
    except InvalidOperation:
        return None
    if match["mult"]:
        value *= _MULTIPLIERS[match["mult"].strip()]
    if match["sign"] and not _binary_minus(text[: match.start()]):
        value = -value
    return value


def _numbers(text: str) -> list[tuple[int, Decimal]]:
    """(start, value) of every number in normalised `text`, left to right."""
    found = []
    for match in _NUMBER.finditer(text):
        start = match.start()
        # Digits glued to a Latin letter on their left belong to a name ("x2", "CO2", "Q3").
        if start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
            continue
        value = _value(match, text)
        if value is not None:
            found.append((start, value))
    return found


def _chinese_numeral(token: str) -> Decimal | None:
    negative = token.startswith("负")
    token = token.lstrip("负")
    integer, _, decimals = token.partition("点")
    total = section = digit = 0
    seen = False
    for ch in integer:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            seen = True
        elif ch in _CN_UNITS:
            section += (digit or 1) * _CN_UNITS[ch]
            digit = 0
            seen = True
        elif ch in _CN_BIG:
            total += (section + digit) * _CN_BIG[ch]
            section = digit = 0
    if not seen and not total:
        return None
    value = Decimal(total + section + digit)
    if decimals:
        value += Decimal("0." + "".join(str(_CN_DIGITS[c]) for c in decimals))
    return -value if negative else value


def parse_number(text: str) -> str | None:
    """The single number in a reference answer ("5,600" -> "5600", "-3.50" -> "-3.5")."""
    numbers = _numbers(_normalise(str(text).strip()))
    return _canonical(numbers[-1][1]) if numbers else None


def extract_answer(text: str) -> str | None:
    """The model's final numeric answer as a canonical decimal string, or None if it gave none.

    See the module docstring for the rules.
    """
    if not text:
        return None
    region = _normalise(_region(text))
    boxed = _last_boxed(region)
    if boxed is not None:
        numbers = _numbers(boxed)
        if numbers:
            return _canonical(numbers[-1][1])
    numbers = _numbers(region)
    if numbers:
        markers = list(_ANSWER_MARKER.finditer(region))
        if markers:
            end = markers[-1].end()
            for start, value in numbers:
                if start >= end:
                    if start - end <= _MARKER_REACH and not re.search(
                        r"[.。!?！？\n]", region[end:start]
                    ):
                        return _canonical(value)
                    break
        return _canonical(numbers[-1][1])
    cn = [m.group(0) for m in _CN_NUMERAL.finditer(region)]
    for token in reversed(cn):
        numeral = _chinese_numeral(token)
        if numeral is not None:
            return _canonical(numeral)
    return None


def answers_match(extracted: str | None, reference: str) -> bool:
    """Whether an extracted answer equals the reference numerically (commas ignored)."""
    if extracted is None:
        return False
    ref = parse_number(reference)
    if ref is None:
        return extracted.strip() == str(reference).strip()
    try:
        a, b = Decimal(extracted), Decimal(ref)
    except InvalidOperation:
        return False
    return abs(a - b) <= Decimal("1e-6") * max(Decimal(1), abs(b))


def answer_key(answer: str) -> str:
    """What two answers to a math question are compared by: the extracted final number when
    there is one, else the whitespace-normalised text."""
    return extract_answer(answer) or " ".join(answer.split())
