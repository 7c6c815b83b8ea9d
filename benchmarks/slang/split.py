"""Divide benchmarks/slang/pool_zh.tsv into a development part and a held-out part.

    python benchmarks/slang/split.py

The split is fixed (seeded shuffle) and was committed before any translation of these lines was
run: the development part may be looked at and tuned on (the curated glossary, the prompts), the
held-out part only measured. Rerunning the script rewrites the same two files.
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 26
DEV_SIZE = 20


def main() -> None:
    lines = (HERE / "pool_zh.tsv").read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("#")]
    header, *rows = [line for line in lines if line and not line.startswith("#")]
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    dev = sorted(order[:DEV_SIZE])
    for name, part in (("dev_zh.tsv", dev), ("heldout_zh.tsv", sorted(order[DEV_SIZE:]))):
        note = f"# {name}: lines of pool_zh.tsv chosen by benchmarks/slang/split.py (seed {SEED})."
        text = "\n".join([note, *comments, header, *(rows[i] for i in part)]) + "\n"
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"{name}: {len(part)} lines")


if __name__ == "__main__":
    main()
