"""The search task of a translation (`marco translate --strategy mcts`).

A translation's answer is the text of its Marco-o1 <Output>; two translations agree only when
their whitespace-normalised texts do. They are never compared by a number in them: "It costs
5 yuan" and "Five yuan, it is 5" are different translations (comparing by the final number, as a
math answer is, made such translations "agree" and stopped the search early).
"""

from __future__ import annotations

from dataclasses import dataclass

from marco_cli.response import MarcoO1Format


@dataclass(frozen=True)
class TranslationTask(MarcoO1Format):
    def answer_key(self, answer: str) -> str:
        return " ".join(answer.split())
