#!/usr/bin/env bash
# The held-out measure of docs/results.md: benchmarks/slang/heldout_zh.tsv translated by each
# model with the default strategy (cot), with and without the glossary, one thread.
# Resumable: rerun it after a stop and it carries on where the results files end.
#   bash benchmarks/slang/run_heldout.sh [model ...]     (default: demo-1.5b demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(demo-1.5b demo)
for model in "${models[@]}"; do
  marco bench --suite translate -d benchmarks/slang/heldout_zh.tsv -s cot --model "$model" \
    --threads 1 --out "results/slang-heldout-$model.jsonl" --resume
done
