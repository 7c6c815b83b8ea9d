"""The MCTS algorithm against the scripted fake engine (tests/fake_engine.py)."""

from __future__ import annotations

import json
import math

import pytest
from fake_engine import Doc, FakeEngine

from marco_cli.errors import ContextOverflowError, UsageError
from marco_cli.reasoning import ReasoningTask
from marco_cli.search import RolloutRecord, SearchConfig, SearchEvent, run_mcts
from marco_cli.search import scheduler as scheduler_module
from marco_cli.search.scheduler import Scheduler

PHRASE = "Wait! Maybe I made some mistakes! I need to rethink from scratch."
FORCE = "\n</Thought>\n<Output>\n"
TASK = ReasoningTask("<Thought>\n", PHRASE, FORCE)

A = Doc("a1.\na2.\n</Thought>\n<Output>1</Output>", 0.9)
A2 = Doc("a1.\nx2.\n</Thought>\n<Output>4</Output>", 0.6)
B = Doc("b1.\nb2.\n</Thought>\n<Output>2</Output>", 0.5)
C = Doc("c1.\n</Thought>\n<Output>2</Output>", 0.7)
FALLBACK = Doc(" so it is 9.\n</Thought>\n<Output>9</Output>", 0.4)


def engine(*docs, **kwargs) -> FakeEngine:
    kwargs.setdefault("fallback", FALLBACK)
    return FakeEngine("Q?", docs or (A, B, C), **kwargs)


def search(eng: FakeEngine, **config) -> Scheduler:
    config.setdefault("seed", 0)
    return Scheduler(eng, eng.prompt_tokens(), SearchConfig(**config), TASK, config["seed"])


def run(eng: FakeEngine, **config):
    config.setdefault("seed", 0)
    return run_mcts(eng, eng.prompt_tokens(), SearchConfig(**config), TASK)


def texts(s: Scheduler, node) -> list[str]:
    return [c.text for c in s.tree.children(node)]


def expand(s: Scheduler, parents: list) -> list:
    """One expansion of `parents` on its own (one batch); returns the new children that still
    need a rollout. The search itself interleaves this with rollouts in `_step`."""
    planned = [(parent, s.prepare(parent)) for parent in parents]
    planned = [(parent, wanted) for parent, wanted in planned if wanted > 0]
    if not planned:
        return []
    share = s.budget_share(sum(wanted for _, wanted in planned))
    requests = []
    for parent, wanted in planned:
        requests += s.expander.requests(parent, wanted, share)
    generations = iter(s.generate(requests))
    new = []
    for parent, wanted in planned:
        new += s.expander.add_sampled(parent, [next(generations) for _ in range(wanted)], share)
    return new


def evaluate(s: Scheduler, nodes: list) -> None:
    """Roll `nodes` out to their ends and back their values up, `chunk` tokens per batch."""
    for node in nodes:
        s.start_job(node, None)
    while s.jobs:
        s.step([])


# -- one iteration ----------------------------------------------------------------------------


def test_an_expansion_samples_k_children_in_one_batch_and_rolls_them_out_in_another():
    eng = engine(pick="index")
    s = search(eng, branch=3, chunk=64)  # these rollouts fit one chunk
    new = expand(s, [s.tree.root])
    assert len(eng.calls) == 1 and len(eng.calls[0]) == 3
    requests = eng.calls[0]
    assert {r.prompt for r in requests} == {tuple(eng.prompt_tokens())}
    # the root has no rollout to give it its greedy child: the first request is greedy
    assert [r.sampling.temperature for r in requests] == [0, 0.8, 0.8]
    assert len({r.sampling.seed for r in requests}) == 3
    assert requests[0].stop == ("\n", "</Thought>", "<Output>", "</Output>")
    assert [n.text for n in new] == ["a1.\n", "b1.\n", "c1.\n"]

    evaluate(s, new)
    assert len(eng.calls) == 2 and len(eng.calls[1]) == 3
    assert all(r.sampling.temperature == 0 for r in eng.calls[1])
    assert all(r.stop == ("</Output>",) for r in eng.calls[1])
    assert [n.rollout.tokens for n in new] == [[ord(c) for c in d.text[4:]] for d in (A, B, C)]


def test_the_roots_children_include_the_greedy_chain_so_the_search_holds_cots_answer():
    # With seed 3 every sampled request picks B: without a greedy child, A (the greedy
    # chain, the chain of thought's answer "1") would never enter the tree.
    eng = engine(A, B, C)
    s = search(eng, branch=3, seed=3)
    new = expand(s, [s.tree.root])
    assert [n.text for n in new] == ["a1.\n", "b1.\n"]  # the third repeated B and was dropped
    evaluate(s, new)
    greedy = s.tree.generated_tokens(new[0].id) + new[0].rollout.tokens
    assert eng.detokenize(greedy) == A.text
    result = run(engine(A, B, C), iterations=6, branch=3, seed=3, early_stop=0)
    assert "1" in [c.answer for c in result.completed]


def test_a_rollout_that_ends_its_turn_without_an_answer_is_given_one_as_cot_does():
    # Neither document opens <Output>; after the forced "</Thought><Output>" the model
    # (the fallback) writes the answer.
    rambling = (Doc("n1.\nso 42.", 0.8), Doc("m1.\nso 42 too.", 0.6))
    eng = engine(*rambling, fallback=Doc("42</Output>", 0.5))
    result = run(eng, iterations=4, branch=2, early_stop=0, reflect=False)
    assert result.complete and result.answer == "42"
    assert result.completed and all(c.answer == "42" and c.closed for c in result.completed)
    assert result.text.endswith("so 42." + FORCE + "42</Output>") or result.text.endswith(
        "so 42 too." + FORCE + "42</Output>"
    )
    # the forced tokens are inserted, not chosen: no confidence, left out of the reward
    n_forced = len(FORCE)
    assert result.stats.forced >= n_forced and result.stats.forced % n_forced == 0
    greedy = result.tree.children(result.tree.root)[0]
    assert greedy.rollout.scores.count(None) == n_forced
    # "n1.\nso 42." chosen at 0.8, then the fallback's "42</Output>" at 0.5
    assert greedy.rollout.value == pytest.approx((10 * 0.8 + 11 * 0.5) / 21)


def test_a_segment_that_ends_its_turn_without_an_answer_is_given_one_too():
    # The whole document is one step: the sampled segment itself ends the turn.
    eng = engine(Doc("so 5.", 0.8), fallback=Doc("5</Output>", 0.5))
    s = search(eng, branch=1)
    (child,) = expand(s, [s.tree.root])
    assert child.terminal is None  # not settled yet: its rollout opens the answer
    evaluate(s, [child])
    assert eng.detokenize(child.rollout.tokens) == FORCE + "5</Output>"
    assert child.rollout.closed and [c.answer for c in s.policy.completed] == ["5"]


def test_a_path_with_an_open_output_is_not_forced_again():
    eng = engine(Doc("t.\n</Thought>\n<Output>7", 0.8))
    result = run(eng, iterations=2, branch=1, early_stop=0, reflect=False)
    assert result.complete and result.answer == "7" and result.stats.forced == 0


def test_without_a_forcing_text_a_turn_without_an_answer_ends_the_path():
    eng = engine(Doc("n1.\nso 42.", 0.8), fallback=Doc("42</Output>", 0.5))
    config = SearchConfig(iterations=3, branch=1, early_stop=0, seed=0)
    result = run_mcts(eng, eng.prompt_tokens(), config, ReasoningTask("<Thought>\n", PHRASE))
    assert not result.complete and result.answer == "" and result.stats.forced == 0


def test_backpropagation_adds_each_rollout_value_to_the_path():
    eng = engine(pick="index")
    s = search(eng, branch=3)
    new = expand(s, [s.tree.root])
    evaluate(s, new)
    values = [n.q for n in new]
    # every token of a document has confidence p, so each path's mean is p
    assert values == pytest.approx([0.9, 0.5, 0.7])
    assert [n.visits for n in new] == [1, 1, 1]
    root = s.tree.root
    assert root.visits == 3 and root.value_sum == pytest.approx(0.9 + 0.5 + 0.7)
    assert root.q == pytest.approx((0.9 + 0.5 + 0.7) / 3)
    # a second value below the first child reaches the root too
    grandchild = s.tree.add(new[0], "step", [1], [0.2], "z")
    s.policy.backup(grandchild, 0.3)
    assert new[0].visits == 2 and new[0].value_sum == pytest.approx(1.2)
    assert root.visits == 4 and root.value_sum == pytest.approx(2.4)


def test_selection_takes_the_uct_best_child_and_unvisited_children_first():
    eng = engine(pick="index")
    s = search(eng, branch=3, exploration=math.sqrt(2))
    evaluate(s, expand(s, [s.tree.root]))
    a, b, c = s.tree.children(s.tree.root)
    assert s.policy.select() is a  # equal exploration terms: the best Q wins
    a.visits, a.value_sum = 10, 9.0
    s.tree.root.visits = 12
    assert s.policy.select() is c  # now exploration outweighs a's value; c has the better Q
    fresh = s.tree.add(s.tree.root, "step", [1], [0.1], "fresh")
    assert s.policy.select() is fresh


def test_a_rollout_is_reused_as_a_child_and_only_k_minus_1_children_are_sampled():
    eng = engine(A, A2, B, pick="index")
    s = search(eng, branch=3)
    evaluate(s, expand(s, [s.tree.root]))
    first = s.tree.children(s.tree.root)[0]
    assert first.text == "a1.\n" and first.rollout is not None
    calls, duplicates = len(eng.calls), s.expander.duplicates
    new = expand(s, [first])
    assert len(eng.calls) == calls + 1 and len(eng.calls[-1]) == 2  # K - 1 sampled
    reused, *others = s.tree.children(first)
    assert reused.text == "a2.\n" and reused.visits == 1 and reused.q == pytest.approx(0.9)
    assert reused.scores == first.rollout.scores[: len(reused.tokens)]
    assert reused.rollout.tokens == [ord(c) for c in "</Thought>\n<Output>1</Output>"]
    assert first.rollout_used
    # the sampled "a2." repeats the reused child and is dropped; "x2." is new
    assert [n.text for n in others] == ["x2.\n"] and new == others
    assert s.expander.duplicates == duplicates + 1
    visits_before = first.visits
    evaluate(s, new)
    assert first.visits == visits_before + 1  # only the new child's rollout is backed up


def test_the_expander_returns_what_the_policy_keeps_and_the_scheduler_hands_it_on():
    cut = Doc("b1.\n" + "x" * 200, 0.5)  # no answer before the path's token limit
    eng = engine(A, cut, pick="index")
    s = search(eng, branch=2, max_tokens=60)
    returned = []
    evaluate_path = s.expander.evaluate

    def spy(node):
        returned.append(evaluate_path(node))
        return returned[-1]

    s.expander.evaluate = spy
    evaluate(s, expand(s, [s.tree.root]))
    assert [e.completed for e in returned] == [True, False]
    # the policy holds exactly the records the expander returned, the completed ones as
    # candidates, and each reward was backed up once
    assert all(kept is e.record for kept, e in zip(s.policy.rollouts, returned, strict=True))
    assert s.policy.completed == [returned[0].record]
    assert s.tree.root.visits == 2
    # scoring a path again only returns its record: the policy is not written
    again = evaluate_path(s.tree.children(s.tree.root)[0])
    assert again.record == returned[0].record and len(s.policy.rollouts) == 2
    assert s.tree.root.visits == 2

    # preparing a leaf returns the child that took over its rollout; only the scheduler's
    # `prepare` tells the policy, which then finds the rollout's record below that child
    first = s.tree.children(s.tree.root)[0]
    prepared = s.expander.prepare(first)
    assert prepared.reused is s.tree.children(first)[0] and prepared.wanted == 1
    assert s.policy.holder(first.id) == first.id
    other = search(engine(A, cut, pick="index"), branch=2, max_tokens=60)
    evaluate(other, expand(other, [other.tree.root]))
    first = other.tree.children(other.tree.root)[0]
    assert other.prepare(first) == 1
    assert other.policy.holder(first.id) == other.tree.children(first)[0].id


def test_a_closed_thought_gets_an_answer_child_and_a_reflection_child():
    eng = engine(pick="index")
    s = search(eng, branch=3)
    evaluate(s, expand(s, [s.tree.root]))
    c = s.tree.children(s.tree.root)[2]
    assert c.text == "c1.\n"
    evaluate(s, expand(s, [c]))
    kinds = [n.kind for n in s.tree.children(c)]
    assert kinds == ["answer", "reflection"]  # the sampled "</Thought>" repeated the answer
    answer, reflection = s.tree.children(c)
    assert answer.terminal == "answer" and answer.answer == "2"
    assert answer.text == "</Thought>\n<Output>2</Output>"
    assert reflection.text == "\n" + PHRASE
    assert reflection.tokens == [ord(ch) for ch in "\n" + PHRASE]
    assert reflection.scores == [None] * len(reflection.tokens) and reflection.visits == 0
    assert s.expander.forced == len(reflection.tokens)

    # the reflection is selected like any unvisited child and continued from
    for node in s.tree.children(s.tree.root)[:2]:
        node.visits, node.value_sum = 50, 0.0  # steer selection to c
    assert s.policy.select() is reflection
    calls = len(eng.calls)
    evaluate(s, expand(s, [reflection]))
    prompt = eng.calls[calls][0].prompt
    assert prompt[-len(reflection.tokens) :] == tuple(reflection.tokens)
    assert eng.detokenize(prompt).endswith("c1.\n\n" + PHRASE)
    child = s.tree.children(reflection)[0]
    # forced tokens are left out of the reward: "c1.\n" then the fallback's tokens
    n = len(FALLBACK.text)
    assert child.q == pytest.approx((4 * C.p + n * FALLBACK.p) / (4 + n))
    assert child.reflections == 1


def test_reflection_can_be_turned_off():
    eng = engine(pick="index")
    s = search(eng, branch=3, reflect=False)
    evaluate(s, expand(s, [s.tree.root]))
    c = s.tree.children(s.tree.root)[2]
    expand(s, [c])
    assert [n.kind for n in s.tree.children(c)] == ["answer"]


def test_only_one_reflection_per_path_by_default():
    eng = engine(pick="index")
    s = search(eng, branch=3)
    evaluate(s, expand(s, [s.tree.root]))
    c = s.tree.children(s.tree.root)[2]
    evaluate(s, expand(s, [c]))
    reflection = s.tree.children(c)[1]
    evaluate(s, expand(s, [reflection]))
    step = s.tree.children(reflection)[0]  # " so it is 9.\n", then the fallback closes
    evaluate(s, expand(s, [step]))
    assert [n.kind for n in s.tree.children(step)] == ["answer"]


@pytest.mark.parametrize(("action", "size"), [("mini-32", 32), ("mini-64", 64)])
def test_mini_step_children_have_exactly_n_tokens(action, size):
    long_doc = Doc("x" * 150 + "</Thought><Output>3</Output>", 0.8)
    eng = engine(long_doc)
    s = search(eng, branch=2, action=action)
    new = expand(s, [s.tree.root])
    assert len(new) == 1  # both samples are the same document
    assert len(new[0].tokens) == size and new[0].kind == "mini"
    assert eng.calls[0][0].max_tokens == size
    evaluate(s, new)
    # the rollout splits into further mini-steps, the last one shorter before the close
    node = new[0]
    lengths = [size]
    while node.rollout is not None and node.kind != "answer":
        node = (
            s.tree.children(node)[0]
            if node.children
            else s.expander.child_from_rollout(node, node.rollout)
        )
        lengths.append(len(node.tokens))
    assert lengths[:-1] == [size] * (150 // size) + [150 % size]
    assert node.kind == "answer" and node.answer == "3"


def test_several_iterations_share_one_batch_with_virtual_loss():
    eng = engine(A, A2, B, C, pick="index")
    s = search(eng, branch=3, parallel=2)
    evaluate(s, expand(s, [s.tree.root]))
    before = {n.id: n.visits for n in s.tree}
    rollouts_before = len(s.policy.rollouts)
    planned = s.fill()
    leaves = [leaf for leaf, _ in planned]
    assert len(leaves) == 2 and leaves[0] is not leaves[1]  # distinct leaves in flight
    for leaf in leaves:  # a virtual visit along each path while in flight
        assert all(n.visits == before[n.id] + 1 for n in s.tree.path(leaf.id)[1:])
    calls = len(eng.calls)
    s.step(planned)
    assert len(eng.calls) == calls + 1  # both expansions (and any rollouts) in ONE call
    prompts = {r.prompt for r in eng.calls[-1] if r.sampling.temperature > 0}
    assert prompts == {tuple(s.tree.state_tokens(leaf.id)) for leaf in leaves}
    while s.jobs or s.flights:
        s.step([])
    assert s.iterations_done == 2 and not s.flights
    # landed: the virtual visits are gone; each new rollout added one real visit
    assert s.tree.root.visits == before[0] + len(s.policy.rollouts) - rollouts_before


def test_a_long_rollout_runs_in_chunks_and_its_place_is_refilled():
    long = Doc("a.\n" + "x " * 50 + "\n</Thought>\n<Output>1</Output>", 0.8)
    other = Doc("a.\ny " + "y " * 50 + "\n</Thought>\n<Output>1</Output>", 0.7)
    short = Doc("b.\n</Thought>\n<Output>2</Output>", 0.6)
    c3 = Doc("c.\nc2.\n</Thought>\n<Output>3</Output>", 0.5)
    c4 = Doc("c.\nc3.\n</Thought>\n<Output>3</Output>", 0.5)
    eng = engine(long, other, short, c3, c4, pick="index")
    result = run(eng, iterations=8, branch=3, parallel=2, chunk=16, early_stop=0)
    rollout_requests = [r for call in eng.calls for r in call if r.stop == ("</Output>",)]
    assert rollout_requests and all(r.max_tokens <= 16 for r in rollout_requests)
    assert len(eng.calls) > 5  # the long rollouts went on over several calls
    mixed = [c for c in eng.calls if {r.sampling.temperature for r in c} == {0.0, 0.8}]
    assert mixed  # new expansions joined calls in which rollouts were still running
    assert result.complete and result.answer == "1"
    # the chunked rollout is exactly the document: nothing past </Output> is kept
    assert result.text == long.text


def test_a_close_tag_split_over_two_chunks_still_ends_the_rollout():
    doc = Doc("a.\n</Thought>\n<Output>7</Output> and then some junk", 0.8)
    for chunk in range(3, 12):
        result = run(engine(doc), iterations=1, branch=1, chunk=chunk, early_stop=0)
        assert result.text == "a.\n</Thought>\n<Output>7</Output>", chunk


def test_a_finished_path_does_not_soak_up_iterations_while_others_run():
    # One child answers at once, the other reasons for a long while. Selecting the finished
    # path only re-counts its value, so it must wait for the running iteration instead of
    # taking every remaining iteration at once: the tree grows as in the one-at-a-time loop.
    short = Doc("a.\n</Thought>\n<Output>1</Output>", 0.9)
    long = Doc("b.\n" + "".join(f"s{i}.\n" for i in range(30)) + "</Thought>\n<Output>2</Output>")
    sizes = {}
    for parallel in (None, 1):
        eng = engine(short, long, pick="index")
        result = run(eng, iterations=8, branch=2, early_stop=0, reflect=False, parallel=parallel)
        assert result.stats.iterations == 8
        sizes[parallel] = len(result.tree)
    assert sizes[None] == sizes[1] > 5  # drained, the tree stopped at 4 nodes


def test_by_default_new_iterations_start_while_fewer_than_8_sequences_are_busy():
    eng = engine(A, A2, B, C, pick="index")
    s = search(eng, branch=4)
    assert (s.parallel, s.load_target) == (8, 8)
    evaluate(s, expand(s, [s.tree.root]))
    planned = s.fill()
    assert sum(wanted for _, wanted in planned) >= 8 or len(planned) == len(s.flights)
    assert sum(wanted for _, wanted in planned[:-1]) < 8  # the last one went over the target
    fixed = search(engine(), branch=4, parallel=2)
    assert (fixed.parallel, fixed.load_target) == (2, None)


def test_a_batch_too_big_for_the_kv_cache_is_retried_in_halves():
    eng = engine(A, A2, B, C, max_batch=2)
    result = run(eng, iterations=6, branch=4, parallel=2, early_stop=0)
    assert result.complete and result.stats.split_batches >= 1
    assert max(len(call) for call in eng.calls) <= 2
    with pytest.raises(ContextOverflowError):  # a single request that cannot fit is an error
        run(engine(max_batch=0), iterations=2)


def test_one_leaf_per_round_is_the_textbook_loop():
    eng = engine(A, A2, B, C)
    result = run(eng, iterations=5, branch=3, parallel=1, early_stop=0)
    assert result.stats.iterations == 5
    for call in eng.calls:
        if call[0].sampling.temperature > 0:  # an expansion: one parent's state
            assert len({r.prompt for r in call}) == 1


# -- whole searches ---------------------------------------------------------------------------


def test_a_search_completes_with_the_highest_reward_answer_and_stats():
    eng = engine(pick="index")
    result = run(eng, iterations=4, branch=3, early_stop=0)
    assert result.complete and not result.interrupted
    assert result.answer == "1" and result.reward == pytest.approx(0.9)
    assert result.thought.startswith("a1.")
    assert result.stop_reason == "iterations" and result.stats.iterations == 4
    assert result.path[0] == 0
    assert result.tree.path(result.path[-1])[1].text == "a1.\n"
    stats = result.stats
    assert stats.generated == eng.stats.generated
    assert stats.unique == stats.prompt + stats.generated + stats.forced
    assert stats.eval_ratio <= 1.0  # the fake's cache is perfect
    assert stats.batches == len(eng.calls)
    assert {c.answer for c in result.completed} >= {"1", "2"}
    for c in result.completed:  # each rollout keeps what its reward was computed from
        chosen = [x for x in c.confidences if x is not None]
        assert len(c.confidences) == c.tokens and c.reward == pytest.approx(
            sum(chosen) / len(chosen)
        )
        back = RolloutRecord.from_json(json.loads(json.dumps(c.to_json())))
        assert (back.node_id, back.answer, back.key, back.tokens) == (
            c.node_id,
            c.answer,
            c.key,
            c.tokens,
        )
        assert back.confidences == pytest.approx(c.confidences, abs=5e-4)


def test_select_modes_reward_vote_and_visits():
    docs = (A, B, C)  # answers 1 (0.9), 2 (0.5), 2 (0.7)
    by_reward = run(engine(*docs, pick="index"), iterations=1, early_stop=0)
    assert by_reward.answer == "1"
    by_vote = run(engine(*docs, pick="index"), iterations=1, early_stop=0, select="vote")
    assert by_vote.answer == "2" and by_vote.reward == pytest.approx(0.7)  # best of the "2"s
    # a vote tie is broken by reward
    tie = run(engine(A, B, pick="index"), iterations=1, branch=2, early_stop=0, select="vote")
    assert tie.answer == "1"

    eng = engine(*docs, pick="index")
    s = search(eng, iterations=1, early_stop=0, select="visits")
    evaluate(s, expand(s, [s.tree.root]))
    a, b, c = s.tree.children(s.tree.root)
    assert s.policy.best().answer == "1"
    b.visits = 5  # the most visited chain now goes through b
    assert s.policy.best().answer == "2" and s.policy.best().reward == pytest.approx(0.5)


def test_the_result_says_what_every_select_mode_would_have_chosen():
    docs = (A, B, C)  # answers 1 (0.9), 2 (0.5), 2 (0.7)
    for select in ("reward", "vote", "visits"):
        result = run(engine(*docs, pick="index"), iterations=1, early_stop=0, select=select)
        chosen = {mode: result.completed[i] for mode, i in result.choices.items()}
        assert set(chosen) == {"reward", "vote", "visits", "weighted-vote", "lowest-window"}
        assert (chosen["reward"].answer, chosen["vote"].answer) == ("1", "2")
        assert chosen["weighted-vote"].answer == "2"  # 0.5 + 0.7 outweighs 0.9
        assert chosen["vote"].reward == pytest.approx(0.7)
        assert chosen[select].answer == result.answer  # the answer is the configured mode's
        assert result.summary()["choices"] == result.choices


def test_early_stop_when_enough_completed_rollouts_agree():
    same = [Doc(f"{w}.\n</Thought>\n<Output>7</Output>", 0.8) for w in ("p", "q", "r")]
    result = run(engine(*same, pick="index"), iterations=10, branch=3, early_stop=3)
    assert result.stop_reason == "early_stop" and result.stats.iterations == 1
    assert result.answer == "7" and len(result.completed) == 3
    longer = run(engine(*same, pick="index"), iterations=3, branch=3, early_stop=0)
    assert longer.stop_reason != "early_stop"


def test_iteration_budget():
    result = run(engine(), iterations=2, early_stop=0)
    assert result.stats.iterations == 2 and result.stop_reason == "iterations"


def test_token_budget_caps_what_the_search_generates():
    eng = engine(pick="index")
    result = run(eng, iterations=50, early_stop=0, search_tokens=60)
    assert result.stop_reason == "search_tokens"
    assert result.stats.generated <= 60
    assert all(sum(r.max_tokens for r in call) <= 60 for call in eng.calls)


def test_time_limit(monkeypatch):
    clock = iter(range(10_000))
    monkeypatch.setattr(scheduler_module, "_now", lambda: float(next(clock)))
    eng = engine()
    result = run(eng, iterations=1000, early_stop=0, time_limit=5.0)
    assert result.stop_reason == "time_limit"
    assert len(eng.calls) <= 5  # the clock is read before every engine call
    assert result.stats.iterations < 20


def test_ctrl_c_returns_the_best_answer_so_far_marked_interrupted():
    calls = []

    def interrupt(requests):
        calls.append(requests)
        if len(calls) == 4:  # the first iteration took 3 calls (sampling, 2 rollout chunks)
            raise KeyboardInterrupt

    result = run(engine(pick="index", before_batch=interrupt), iterations=10, early_stop=0)
    assert result.interrupted and result.stop_reason == "interrupted"
    assert result.complete and result.answer == "1"  # from the first iteration's rollouts
    assert 1 <= result.stats.iterations < 10


def test_should_stop_ends_the_search_like_ctrl_c():
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    result = run_mcts(
        engine(),
        engine().prompt_tokens(),
        SearchConfig(iterations=10, early_stop=0, seed=0),
        TASK,
        should_stop=stop,
    )
    assert result.interrupted and result.stats.iterations < 10


def test_no_completed_rollout_says_so_and_keeps_the_best_partial_path():
    rambling = Doc("r1.\nr2.\nr3.\n", 0.6)  # ends its turn without ever answering
    eng = engine(rambling, fallback=Doc("more.\n", 0.3))
    # 20 tokens leave no room to force an answer after the 12 rambling ones
    result = run(eng, iterations=3, early_stop=0, max_tokens=20)
    assert not result.complete and result.completed == () and result.choices == {}
    assert result.text.startswith("r1.") and result.reward is not None


def test_the_path_token_limit_ends_paths():
    eng = engine(Doc("word " * 200, 0.6))
    result = run(eng, iterations=3, early_stop=0, max_tokens=40, action="mini-32")
    assert not result.complete
    assert all(n.path_tokens <= 40 for n in result.tree)
    assert all(len(r.prompt) - 2 + r.max_tokens <= 40 for call in eng.calls for r in call)


def test_a_seeded_search_is_reproducible():
    docs = (A, A2, B, C)
    first = run(engine(*docs), iterations=6, seed=11, early_stop=0)
    second = run(engine(*docs), iterations=6, seed=11, early_stop=0)
    assert json.dumps(first.tree.to_json()) == json.dumps(second.tree.to_json())
    assert first.stats.seed == 11
    unseeded = run_mcts(engine(*docs), engine().prompt_tokens(), SearchConfig(iterations=1), TASK)
    assert isinstance(unseeded.stats.seed, int)  # drawn, and reported so it can be reused


def test_events_carry_neutral_snapshots():
    events: list[SearchEvent] = []
    eng = engine(pick="index")
    result = run_mcts(
        eng,
        eng.prompt_tokens(),
        SearchConfig(iterations=2, seed=0, early_stop=0),
        TASK,
        on_event=events.append,
    )
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("iteration") == 2 and "expand" in kinds
    snap = events[-1].snapshot()
    json.dumps(snap)  # plain data
    assert snap["answer"] == result.answer and snap["best_path"] == list(result.path)
    assert {n["id"] for n in snap["tree"]["nodes"]} == set(result.tree.nodes)
    assert snap["stats"]["iterations"] == 2


def test_result_document_round_trips_the_tree():
    result = run(engine(pick="index"), iterations=3, early_stop=0)
    doc = json.loads(json.dumps(result.to_json()))
    assert doc["format"] == "marco-search-tree" and doc["answer"] == result.answer
    assert doc["stats"]["eval_ratio"] == pytest.approx(result.stats.eval_ratio, abs=1e-4)
    from marco_cli.search import Tree

    assert Tree.from_json(doc["tree"]).to_json() == result.tree.to_json()
    summary = result.summary()
    assert "tree" not in summary and summary["completed"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("iterations", 0),
        ("branch", 0),
        ("action", "word"),
        ("select", "best"),
        ("reward", "x"),
        ("time_limit", 0.0),
        ("early_stop", -1),
    ],
)
def test_bad_configs_are_usage_errors(field, value):
    with pytest.raises(UsageError):
        run(engine(), **{field: value})
