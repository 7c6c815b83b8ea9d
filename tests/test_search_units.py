"""Unit tests of the search's pieces: its settings, confidence, action granularity, tree, UCT."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest

from marco_cli.engine.base import TokenLogprobs, answer_room
from marco_cli.errors import UsageError
from marco_cli.response import ANSWER_MARKERS
from marco_cli.search import (
    ConfidenceReward,
    PathSample,
    SearchConfig,
    Tree,
    action_rule,
    get_reward,
    search_config,
    token_confidence,
    upgrade_config_json,
)
from marco_cli.search.tree import Rollout
from marco_cli.search.uct import uct_score


def chars(text: str) -> list[int]:
    return [ord(c) for c in text]


def detok(tokens) -> str:
    return "".join(chr(t) for t in tokens)


# -- confidence -------------------------------------------------------------------------------


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"search_tokens": 0}, "--search-tokens must be at least 1"),
        ({"max_tokens": 0}, "--max-tokens must be at least 1"),
        ({"early_stop": -1}, "--early-stop must not be negative"),
        ({"select": "best"}, "unknown --select 'best'; choose one of reward, visits, vote"),
        ({"top_p": 0.0}, "top_p must be in (0, 1]"),
        ({"beam_width": 3}, "unknown search setting(s) beam_width"),
    ],
)
def test_a_search_setting_out_of_range_names_the_flag_that_sets_it(layer, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        search_config(layer)


def test_search_config_lays_its_layers_then_the_settings_every_command_shares():
    config = search_config(
        {"iterations": 4, "branch": 2},
        {"iterations": 6, "branch": None},  # None leaves the field as the layers below set it
        max_tokens=300,
        seed=3,
        reflect=False,
    )
    assert (config.iterations, config.branch, config.max_tokens) == (6, 2, 300)
    assert (config.seed, config.reflect, config.search_tokens) == (3, False, None)
    again = search_config(base=config, seed=4)
    assert (again.seed, again.iterations) == (4, 6)
    with pytest.raises(UsageError, match="--iterations"):
        dataclasses.replace(config, iterations=0)  # a copy checks itself as well


def test_a_config_saved_under_the_old_budget_names_reads_as_today():
    old = {"iterations": 8, "max_tokens": None, "max_path_tokens": 1024}
    assert upgrade_config_json(old) == {"iterations": 8, "search_tokens": None, "max_tokens": 1024}
    today = SearchConfig(search_tokens=900).to_json()
    assert upgrade_config_json(today) == today
    assert SearchConfig(**upgrade_config_json({**today})) == SearchConfig(search_tokens=900)


def test_an_answer_has_the_room_its_context_leaves():
    assert answer_room(100, 50, 120) == 70
    assert answer_room(100, 10, 4096) == 100
    assert answer_room(100, 130, 120) == 0
    assert answer_room(100, 10, 0) == 100  # a context of unknown size caps nothing


def test_confidence_of_a_top5_token_is_its_share_of_the_top5():
    probs = [0.5, 0.2, 0.1, 0.1, 0.05]
    lp = TokenLogprobs(
        token=7,
        logprob=math.log(0.5),
        top_ids=(7, 1, 2, 3, 4),
        top_logprobs=tuple(math.log(p) for p in probs),
    )
    assert token_confidence(lp) == pytest.approx(0.5 / 0.95)


def test_confidence_of_a_token_outside_the_top5_adds_it_to_the_denominator():
    probs = [0.3, 0.2, 0.2, 0.1, 0.1]
    lp = TokenLogprobs(
        token=99,
        logprob=math.log(0.01),
        top_ids=(1, 2, 3, 4, 5),
        top_logprobs=tuple(math.log(p) for p in probs),
    )
    assert token_confidence(lp) == pytest.approx(0.01 / (0.9 + 0.01))


def test_confidence_of_a_certain_token_is_one():
    lp = TokenLogprobs(token=1, logprob=0.0, top_ids=(1, 2), top_logprobs=(0.0, -80.0))
    assert token_confidence(lp) == pytest.approx(1.0)


def test_confidence_reward_is_the_mean_over_chosen_tokens_only():
    reward = get_reward("confidence")
    assert isinstance(reward, ConfidenceReward)
    sample = PathSample(scores=[0.9, None, 0.5, None, 0.7], text="", answer=None, closed=False)
    assert reward.value(sample) == pytest.approx((0.9 + 0.5 + 0.7) / 3)
    assert reward.value(PathSample(scores=[None], text="", answer=None, closed=False)) == 0.0


def test_confidence_variants_weigh_unsure_tokens_more():
    sure = [0.95] * 40
    unsure = sure[:-4] + [0.05] * 4  # 4 unsure tokens among 40
    geo, low = get_reward("confidence-geo"), get_reward("confidence-low")
    paper = get_reward("confidence")

    def sample(scores):
        return PathSample(scores=scores + [None], text="", answer="1", closed=True)

    assert geo.value(sample(sure)) == pytest.approx(0.95)
    assert geo.value(sample(unsure)) == pytest.approx(0.95**0.9 * 0.05**0.1)
    # the lowest tenth of 40 tokens is exactly the 4 unsure ones
    assert low.value(sample(unsure)) == pytest.approx(0.05)
    assert low.value(sample([0.5, 0.9])) == 0.5  # at least one token
    for reward in (geo, low):
        assert reward.value(PathSample(scores=[None], text="", answer=None, closed=False)) == 0.0
        # the unsure path loses more than under the paper's mean
        drop = 1 - reward.value(sample(unsure)) / reward.value(sample(sure))
        assert drop > 1 - paper.value(sample(unsure)) / paper.value(sample(sure))


def test_unknown_reward_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown reward"):
        get_reward("oracle")


# -- actions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("First step.\nSecond step.\n", "First step.\n"),
        ("\n\nFirst step.\n\nSecond", "\n\nFirst step.\n"),  # leading blank lines belong to it
        ("so it is 5.</Thought>\n<Output>5</Output>", "so it is 5."),  # cut before the close
        ("so it is 5. <Output>5</Output>", "so it is 5. "),  # <Output> closes a thought too
        ("no boundary at all", "no boundary at all"),
    ],
)
def test_step_action_ends_at_a_line_or_before_the_thought_closes(text, first):
    split = action_rule("step", ANSWER_MARKERS).split(chars(text), detok)
    assert not split.answer
    assert detok(chars(text)[: split.n]) == first


@pytest.mark.parametrize(
    "text", ["</Thought>\n<Output>5</Output>", "\n<Output>5</Output>", "  </Output>"]
)
def test_a_stream_that_starts_by_closing_the_thought_is_one_answer_action(text):
    split = action_rule("step", ANSWER_MARKERS).split(chars(text), detok)
    assert split.answer and split.n == len(text)


def test_step_action_is_capped():
    split = action_rule("step", ANSWER_MARKERS, max_step_tokens=8).split(
        chars("a" * 30 + "\n"), detok
    )
    assert split.n == 8


@pytest.mark.parametrize(("name", "size"), [("mini-64", 64), ("mini-32", 32)])
def test_mini_steps_are_exactly_n_tokens_or_fewer_at_the_end_of_the_thought(name, size):
    rule = action_rule(name, ANSWER_MARKERS)
    assert rule.kind == "mini" and rule.max_tokens == size
    long = "x\n" * 100
    assert rule.split(chars(long), detok).n == size  # newlines do not end a mini-step
    short = "x" * 10 + "</Thought><Output>1</Output>"
    assert rule.split(chars(short), detok).n == 10
    assert "\n" not in rule.stops and "</Thought>" in rule.stops and "<Output>" in rule.stops


def test_a_token_straddling_the_close_goes_to_the_answer():
    vocab = ["so 5", ".</", "Thought", ">", "<Output>5</Output>"]
    tokens = list(range(len(vocab)))

    def vocab_detok(ids):
        return "".join(vocab[i] for i in ids)

    split = action_rule("mini-32", ANSWER_MARKERS).split(tokens, vocab_detok)
    assert split == type(split)(1, False)


def test_unknown_action_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown action"):
        action_rule("sentence", ANSWER_MARKERS)


# -- tree -------------------------------------------------------------------------------------


def small_tree() -> Tree:
    tree = Tree([1, 2, 3])
    a = tree.add(tree.root, "step", [10, 11], [0.9, 0.8], "ab")
    b = tree.add(tree.root, "step", [12], [0.5], "c")
    r = tree.add(a, "reflection", [20, 21], [None, None], "\nWait!")
    ans = tree.add(a, "answer", [30], [0.7], "</Output>")
    ans.terminal, ans.answer = "answer", "5"
    a.rollout = Rollout([40, 41], [0.6, None], "stop", 0.75, closed=True, answer="5")
    for node, visits, value in [(tree.root, 3, 2.1), (a, 2, 1.5), (b, 1, 0.5), (ans, 1, 0.7)]:
        node.visits, node.value_sum = visits, value
    assert r.reflections == 1 and r.path_tokens == 4
    return tree


def test_tree_json_round_trips():
    tree = small_tree()
    data = json.loads(json.dumps(tree.to_json()))
    again = Tree.from_json(data)
    assert again.to_json() == tree.to_json()
    assert again.state_tokens(3) == [1, 2, 3, 10, 11, 20, 21]
    assert again.path_ids(4) == (0, 1, 4)
    # a new node gets a fresh id from the restored counter
    assert again.add(again.root, "step", [1], [0.1], "x").id == 5


def test_tree_json_light_form_leaves_out_token_ids():
    light = small_tree().to_json(full=False)
    assert "prompt_tokens" not in light
    assert all("tokens" not in n and "rollout" not in n for n in light["nodes"])
    node = light["nodes"][1]
    assert node["n_tokens"] == 2 and node["q"] == pytest.approx(0.75)
    assert node["confidence"] == pytest.approx(0.85)


def test_tree_from_json_rejects_dangling_ids():
    data = small_tree().to_json()
    data["nodes"][1]["children"].append(42)
    with pytest.raises(ValueError, match="missing child"):
        Tree.from_json(data)


def test_two_trees_number_their_nodes_independently():
    first, second = Tree([1]), Tree([1])
    assert first.add(first.root, "step", [2], [0.5], "x").id == 1
    assert second.add(second.root, "step", [2], [0.5], "x").id == 1


def test_uct_prefers_unvisited_then_balances_value_and_exploration():
    tree = Tree([1])
    a = tree.add(tree.root, "step", [2], [0.5], "a")
    b = tree.add(tree.root, "step", [3], [0.5], "b")
    assert uct_score(a, 0, math.sqrt(2)) == math.inf
    a.visits, a.value_sum = 4, 4 * 0.9  # good and well explored
    b.visits, b.value_sum = 1, 0.6  # worse but barely explored
    parent = 5
    score_a = 0.9 + math.sqrt(2) * math.sqrt(math.log(parent) / 4)
    score_b = 0.6 + math.sqrt(2) * math.sqrt(math.log(parent) / 1)
    assert uct_score(a, parent, math.sqrt(2)) == pytest.approx(score_a)
    assert uct_score(b, parent, math.sqrt(2)) == pytest.approx(score_b)
    assert score_b > score_a  # exploration wins with c = sqrt(2)
    assert uct_score(a, parent, 0.1) > uct_score(b, parent, 0.1)  # exploitation wins


def test_lowest_window_is_the_least_confident_stretch_of_model_tokens():
    from marco_cli.search.uct import lowest_window

    assert lowest_window([0.9, None, 0.2, 0.4, 1.0], window=2) == pytest.approx(0.3)
    assert lowest_window([0.5, None, 0.7], window=32) == pytest.approx(0.6)  # shorter: the mean
    assert lowest_window([None, None]) == 0.0


def test_recorded_choosers_weigh_answers_by_reward_and_paths_by_their_worst_window():
    from marco_cli.search.results import RolloutRecord
    from marco_cli.search.uct import lowest_window_winner, weighted_vote_winner

    def rec(key: str, reward: float, confidences=()) -> RolloutRecord:
        return RolloutRecord(0, key, key, reward, 9, True, "", tuple(confidences))

    # two 3s (0.3 + 0.3) against one 5 (0.9): the count says 3, the weight says 5
    rollouts = [rec("3", 0.3), rec("3", 0.3), rec("5", 0.9)]
    assert weighted_vote_winner(rollouts).key == "5"
    # a steady path beats one with a higher mean and one unsure stretch
    steady = rec("1", 0.7, [0.7] * 40)
    dip = rec("2", 0.9, [1.0] * 30 + [0.1] * 20 + [1.0] * 30)
    assert lowest_window_winner([dip, steady]) is steady
