"""The search's tasks: reasoning answers compare by their final number, translations as text."""

from __future__ import annotations

from fake_engine import Doc, FakeEngine

from marco_cli.languages import language
from marco_cli.prompts import load_translate_prompts
from marco_cli.reasoning import ReasoningTask
from marco_cli.response import ANSWER_MARKERS
from marco_cli.search import SearchConfig, SearchEvent, run_mcts
from marco_cli.translate import TranslateOptions, Translator, split_units
from marco_cli.translate.task import TranslationTask

PHRASE = "Wait! Maybe I made some mistakes! I need to rethink from scratch."


def test_both_tasks_share_the_marco_o1_format():
    for task in (ReasoningTask("<Thought>\n", PHRASE), TranslationTask("<Thought>\n", PHRASE)):
        assert task.answer_markers == ANSWER_MARKERS
        assert task.rollout_stops == ("</Output>",)
        assert task.reflection == "\n" + PHRASE
        assert task.closed_end("a.\n</Thought>\n<Output>7</Output> junk") == len(
            "a.\n</Thought>\n<Output>7</Output>"
        )
        assert task.closed_end("a.\n</Thought>\n<Output>7") is None
        parsed = task.parse("a.\n</Thought>\n<Output>7</Output>")
        assert (parsed.thought, parsed.answer) == ("a.", "7")


def test_reasoning_compares_final_numbers_translation_compares_text():
    reasoning, translation = ReasoningTask("<Thought>\n"), TranslationTask("<Thought>\n")
    assert reasoning.answer_key("It costs 5 yuan.") == reasoning.answer_key("The price is 5")
    assert translation.answer_key("It costs 5 yuan.") != translation.answer_key("The price is 5")
    assert translation.answer_key("  It costs\n 5 yuan. ") == "It costs 5 yuan."


# Three different translations that all end with the number 5.
FIVES = (
    Doc(" a.\n</Thought>\n<Output>It costs 5 yuan.</Output>", 0.9),
    Doc(" b.\n</Thought>\n<Output>The price is 5.</Output>", 0.8),
    Doc(" c.\n</Thought>\n<Output>Only 5, a bargain at 5</Output>", 0.7),
)


def test_different_translations_ending_in_the_same_number_do_not_stop_the_search():
    # `marco translate --strategy mcts` used to compare translations by their last number, so
    # these three "agreed" after the first expansion and the search stopped early.
    engine = FakeEngine("Colloquial expressions:", FIVES, pick="index")
    search = SearchConfig(iterations=4, branch=3, early_stop=3, reflect=False, seed=1)
    options = TranslateOptions(
        src=language("zh"), tgt=language("en"), strategy="mcts", search=search
    )
    translator = Translator(engine, load_translate_prompts(), options)
    events: list[SearchEvent] = []
    (result,) = list(translator.translate_document(split_units("五块钱\n"), on_event=events.append))
    assert result.ok and result.translation == "It costs 5 yuan."
    done = events[-1]
    assert done.kind == "done" and done.stats.iterations == 4  # no early stop


def test_the_same_translation_written_differently_still_agrees():
    same = [Doc(f" {w}.\n</Thought>\n<Output>It costs  5\nyuan.</Output>", 0.8) for w in "pqr"]
    same[1] = Doc(" q.\n</Thought>\n<Output>It costs 5 yuan.</Output>", 0.8)
    engine = FakeEngine("<Thought>\n", same, pick="index")
    config = SearchConfig(iterations=10, branch=3, early_stop=3, seed=0)
    result = run_mcts(engine, engine.prompt_tokens(), config, TranslationTask("<Thought>\n"))
    assert result.stop_reason == "early_stop" and result.stats.iterations == 1
