"""The next token of every sequence of a decode step, from the step's logits rows at once.

`pick_tokens` does, for a matrix of logits (one row per sequence), what one row's sampling and
`base.token_logprobs` define: the token (greedy, or top-k, temperature, top-p and one draw from
the row's own random generator), its log-probability over the whole vocabulary and the top
candidates. The results are the same, bit for bit, as those row-by-row definitions; the work is
not. The vocabulary (151,936 logits for Marco-o1) is passed over as few times as possible:

- one pass takes the maximum of every group of GROUP logits of every row; the k-th largest group
  maximum is a threshold that at least k logits reach, so a second pass finds a few dozen
  candidates per row, ordered (value descending, id ascending) by one sort for the whole step;
- the log-normalizer is `base.log_normalizer`, row by row into one scratch row, which stays in the
  CPU's cache (a pass over the whole step's matrix at once does not, and is slower);
- the draws of the rows that share their sampling settings are computed together.

Rows that need the whole vocabulary ordered (top_k 0) or hold no finite maximum take
`base.top_ids` alone, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from marco_cli.engine.base import TOP_LOGPROBS, Sampling, TokenLogprobs, log_normalizer, top_ids

GROUP = 64
"""Logits per group of the first pass: few enough groups to partition, few candidates after."""


def pick_tokens(
    logits: np.ndarray,
    samplings: Sequence[Sampling],
    rngs: Sequence[np.random.Generator],
    pool: RowPool | None = None,
) -> tuple[list[int], list[TokenLogprobs]]:
    """The next token of each row of `logits` (rows x vocabulary) and its log-probabilities.

    With a `pool` of threads, the rows' log-normalizers are computed on its threads (numpy
    lets go of the GIL while it runs), each row exactly as it would be alone."""
    n, size = logits.shape
    widths = [_sample_width(s, size) for s in samplings]
    needs = [min(max(width, TOP_LOGPROBS), size) for width in widths]
    peaks, ids, values = _top_candidates(logits, needs)
    tokens = np.zeros(n, dtype=np.int64)
    by_setting: dict[tuple[float, float, int], list[int]] = {}
    for row, sampling in enumerate(samplings):
        if sampling.temperature > 0:
            by_setting.setdefault((sampling.temperature, sampling.top_p, widths[row]), []).append(
                row
            )
        elif np.isfinite(peaks[row]):
            tokens[row] = ids[row][0]  # the first of the best in id order, as argmax
        else:
            tokens[row] = np.argmax(logits[row])  # argmax's own rule for NaN
    for (temperature, top_p, width), rows in by_setting.items():
        stacked = np.stack([values[row][:width] for row in rows])
        choice = _draw(stacked, temperature, top_p, [rngs[row] for row in rows])
        tokens[rows] = [ids[row][c] for row, c in zip(rows, choice, strict=True)]

    picked: list[int] = tokens.tolist()
    result: list[TokenLogprobs] = []
    for row, (token, norm) in enumerate(
        zip(picked, _normalizers(logits, peaks, pool), strict=True)
    ):
        best = ids[row][:TOP_LOGPROBS]
        result.append(
            TokenLogprobs(
                token=token,
                logprob=float(logits[row, token]) - norm,
                top_ids=tuple(best.tolist()),
                top_logprobs=tuple((values[row][: best.size] - norm).tolist()),
            )
        )
    return picked, result


class RowPool:
    """Threads for the rows of a step (none for one thread); `close` stops them."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, threads)
        self._executor = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def map(self, work: Callable[[range], list[float]], shares: list[range]) -> list[list[float]]:
        if self._executor is None:
            return [work(share) for share in shares]
        return list(self._executor.map(work, shares))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()


_scratch = threading.local()


def _normalizers(logits: np.ndarray, peaks: np.ndarray, pool: RowPool | None) -> list[float]:
    """`log_normalizer` of every row: on the pool's threads, a share of the rows each."""

    def rows(share: range) -> list[float]:
        scratch = getattr(_scratch, "row", None)  # one per thread, reused: stays in its cache
        if scratch is None or scratch.shape != logits.shape[1:] or scratch.dtype != logits.dtype:
            scratch = _scratch.row = np.empty(logits.shape[1], dtype=logits.dtype)
        return [log_normalizer(logits[row], peaks[row], scratch) for row in share]

    n = logits.shape[0]
    workers = min(n, pool.threads) if pool is not None else 1
    if pool is None or workers <= 1:
        return rows(range(n))
    done = pool.map(rows, [range(i, n, workers) for i in range(workers)])
    return [done[row % workers][row // workers] for row in range(n)]


def _sample_width(sampling: Sampling, size: int) -> int:
    """How many of the best tokens a draw chooses from: top_k, or all (top_k 0); 1 for greedy."""
    if sampling.temperature <= 0:
        return 1
    return min(sampling.top_k, size) if sampling.top_k > 0 else size


def _top_candidates(
    logits: np.ndarray, needs: list[int]
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Each row's maximum, and its `needs[row]` best ids (value descending, id ascending) with
    their values as float64: for most rows from the step's two passes, for the others from
    `top_ids`."""
    n, size = logits.shape
    partial = [need for need in needs if need < size]
    groups = _group_maxima(logits, max(partial, default=1))
    peaks = groups.max(axis=1)
    finite = np.isfinite(peaks).tolist()
    fast = [row for row in range(n) if needs[row] < size and finite[row]]
    ids: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * n
    values: list[np.ndarray] = [np.empty(0)] * n
    for row in sorted(set(range(n)) - set(fast)):
        ids[row] = top_ids(logits[row], needs[row])
        values[row] = logits[row, ids[row]].astype(np.float64)
    if not fast:
        return peaks, ids, values
    k = max(needs[row] for row in fast)
    # The k-th largest group maximum: k groups hold a logit at least that large, so at least k
    # logits reach it, and every logit of the k best does.
    threshold = -np.partition(-groups[fast], k - 1, axis=1)[:, k - 1]
    rows_of = logits if len(fast) == n else logits[fast]
    rows, cols = np.divmod(np.flatnonzero(rows_of >= threshold[:, None]), size)
    found = rows_of[rows, cols]
    order = np.lexsort((cols, -found, rows))
    starts = np.searchsorted(rows[order], np.arange(len(fast)))
    for i, row in enumerate(fast):
        take = order[starts[i] : starts[i] + needs[row]]
        ids[row] = cols[take]
        values[row] = found[take].astype(np.float64)
    return peaks, ids, values


def _group_maxima(logits: np.ndarray, k: int) -> np.ndarray:
    """The maximum of each of at least k groups of every row's logits. A group is every
    `columns`-th logit (ids g, g + columns, ...; any partition serves): the maxima are then an
    elementwise maximum over GROUP slices of the row, which is faster than a reduction over
    short contiguous blocks. The ids past GROUP * columns form one more group."""
    n, size = logits.shape
    group = max(1, min(GROUP, size // k))
    columns = size // group
    maxima = logits[:, : group * columns].reshape(n, group, columns).max(axis=1)
    if group * columns < size:
        tail = logits[:, group * columns :].max(axis=1, keepdims=True)
        maxima = np.concatenate([maxima, tail], axis=1)
    return maxima


def _draw(
    values: np.ndarray, temperature: float, top_p: float, rngs: list[np.random.Generator]
) -> list[int]:
    """For rows of candidate logits (best first) sharing their settings: temperature, then
    top-p (the smallest head whose mass reaches top_p), then one draw from each row's
    generator. Returns the chosen column of each row."""
    scaled = values / temperature
    cumulative = np.cumsum(np.exp(scaled - scaled[:, :1]), axis=1)
    cumulative /= cumulative[:, -1:]
    choice = []
    # searchsorted row by row: its order for NaN (last) is the rule a degenerate row follows.
    for row, rng in zip(cumulative, rngs, strict=True):
        keep = row.size
        if top_p < 1.0:
            keep = int(row.searchsorted(top_p)) + 1
        head = row[:keep]
        draw = rng.random() * head[-1]
        choice.append(min(int(head.searchsorted(draw, side="right")), keep - 1))
    return choice
