"""bench/chrf.py scores as sacrebleu's chrF does (sacrebleu is a dev dependency, never a runtime
one), and its signature is sacrebleu's, less the version field."""

from __future__ import annotations

import pytest
from sacrebleu.metrics import CHRF

from marco_cli.bench.chrf import chrf_corpus, chrf_sentence, chrf_signature

# (hypothesis, references): sentences with punctuation, repeats, CJK, strings shorter than six
# characters (orders neither side can have), an empty hypothesis and several references.
PAIRS: list[tuple[str, list[str]]] = [
    ("The cat sat on the mat.", ["The cat is sitting on the mat."]),
    ("These shoes feel like stepping on poop.", ["These shoes are incredibly comfortable."]),
    ("It's lit!", ["It is amazing!", "That's great!"]),
    ("no no no no no", ["no"]),
    ("abc", ["abcd"]),
    ("a", ["a"]),
    ("", ["Something to translate."]),
    ("踩屎感的鞋", ["这双鞋穿起来很舒服"]),
    ("这鞋很舒服", ["这双鞋很舒服", "穿着很舒服"]),
    ("Janet sells 16 - 3 - 4 = 9 duck eggs a day.", ["Janet sells 9 eggs every day."]),
    ("  spaces   everywhere  ", ["spaceseverywhere"]),
    ("Über straße — naïve café", ["Uber strasse - naive cafe"]),
]


@pytest.mark.parametrize(("hypothesis", "references"), PAIRS)
def test_sentence_chrf_equals_sacrebleu(hypothesis: str, references: list[str]) -> None:
    expected = CHRF().sentence_score(hypothesis, references).score
    assert chrf_sentence(hypothesis, references) == pytest.approx(expected, abs=1e-9)


def test_corpus_chrf_equals_sacrebleu() -> None:
    single = [(h, refs[:1]) for h, refs in PAIRS]
    hypotheses = [h for h, _ in single]
    metric = CHRF()
    expected = metric.corpus_score(hypotheses, [[refs[0] for _, refs in single]])
    assert chrf_corpus(hypotheses, [refs for _, refs in single]) == pytest.approx(
        expected.score, abs=1e-9
    )
    assert metric.get_signature().format() == f"{chrf_signature([r for _, r in single])}|" + (
        f"version:{metric.get_signature().info['version']}"
    )


def test_corpus_chrf_with_two_references_equals_sacrebleu() -> None:
    two = [(h, refs) for h, refs in PAIRS if len(refs) == 2]
    hypotheses = [h for h, _ in two]
    streams = [[refs[i] for _, refs in two] for i in range(2)]
    metric = CHRF()
    expected = metric.corpus_score(hypotheses, streams)
    assert chrf_corpus(hypotheses, [refs for _, refs in two]) == pytest.approx(expected.score)
    assert metric.get_signature().format().startswith(chrf_signature([r for _, r in two]) + "|")


def test_signature_says_var_for_different_reference_counts() -> None:
    assert chrf_signature([["a"], ["b", "c"]]).startswith("nrefs:var|")
    assert chrf_signature(["a", "b"]).startswith("nrefs:1|")
