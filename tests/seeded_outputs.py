"""What a seeded run produces on a real model, exactly: the fingerprint that
tests/data/seeded-outputs.json pins (see test_engine_seeded.py).

A fingerprint holds, for one model, every generated token with its log-probability and top
candidates (sampled and greedy, one sequence and a batch of them) and a seeded search's
completed rollouts with their rewards and answers, as exact floats. The engine's host code may
be rewritten for speed; none of these may change.

    python tests/seeded_outputs.py tiny demo    # rewrite the pinned file from this build
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "data" / "seeded-outputs.json"
QUESTION = "What is 2+3?"
COUNT = "Count from 1 to 40, one number per line, with nothing else."
SEARCH = {
    "iterations": 4,
    "branch": 3,
    "action": "mini-32",
    "max_tokens": 160,
    "seed": 11,
    "early_stop": 0,
}


def system_info() -> str:
    """llama.cpp's build and CPU features: logits, hence tokens, depend on them."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode().strip()


def _generation(gen: Any) -> dict[str, Any]:
    return {
        "tokens": list(gen.tokens),
        "finish": gen.finish_reason,
        "text": gen.text,
        "logprobs": [
            [lp.token, lp.logprob, list(lp.top_ids), list(lp.top_logprobs)] for lp in gen.logprobs
        ],
    }


def fingerprint(engine: Any) -> dict[str, Any]:
    from marco_cli.engine.base import Request, Sampling
    from marco_cli.prompts import load_solve_prompts
    from marco_cli.reasoning import ReasoningTask, SolveOptions, question_tokens, solve
    from marco_cli.search import SearchConfig, run_mcts

    prompts = load_solve_prompts()
    prompt = tuple(question_tokens(engine, QUESTION, prompts))
    # A counting prompt, so that sampled rows run long; greedy and whole-vocabulary rows beside
    # them in the same batch.
    count = tuple(engine.chat_tokens([{"role": "user", "content": COUNT}]))
    sampled = [Sampling(temperature=0.8, top_p=0.9, top_k=40, seed=seed) for seed in (1, 2, 3)]
    batch = [Request(prompt=count, max_tokens=64, sampling=s) for s in sampled]
    batch.append(Request(prompt=count, max_tokens=64))
    batch.append(
        Request(prompt=count, max_tokens=32, sampling=Sampling(temperature=1.0, top_k=0, seed=4))
    )
    cot = solve(
        engine, QUESTION, SolveOptions(strategy="cot", max_tokens=96, seed=7, reflect=True), prompts
    )
    search = run_mcts(
        engine, list(prompt), SearchConfig(**SEARCH), ReasoningTask.from_prompts(prompts)
    )
    return {
        "one": _generation(engine.generate(batch[0])),
        "batch": [_generation(gen) for gen in engine.generate_batch(batch)],
        "cot": {"answer": cot.answer, "thought": cot.thought, "tokens": cot.generated_tokens},
        "mcts": {
            "answer": search.answer,
            "reward": search.reward,
            "path": list(search.path),
            "generated": search.stats.generated,
            "completed": [
                {
                    "node": c.node_id,
                    "answer": c.answer,
                    "reward": c.reward,
                    "tokens": c.tokens,
                    "text": c.text,
                    "confidences": list(c.confidences),
                }
                for c in search.completed
            ],
        },
    }


def model_path(name: str) -> Path:
    if name == "tiny":
        from tiny_model import write_tiny_model

        path = Path("/tmp/seeded-outputs-tiny.gguf")
        return path if path.exists() else write_tiny_model(path)
    from marco_cli.models import resolve_model

    return resolve_model(name).path


def record(names: list[str]) -> None:
    from marco_cli.engine.llama import LlamaEngine

    pinned = json.loads(PINNED.read_text()) if PINNED.exists() else {}
    pinned["system_info"] = system_info()
    for name in names:
        with LlamaEngine(model_path(name), n_ctx=4096) as engine:
            pinned[name] = fingerprint(engine)
    PINNED.write_text(json.dumps(pinned, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    record(sys.argv[1:])
