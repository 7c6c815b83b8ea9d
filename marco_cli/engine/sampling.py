"""The next token of every sequence of a decode step, from the step's logits rows at once.

`pick_tokens` does, for a matrix of logits (one row per sequence), what one row's sampling and
`base.token_logprobs` define: the token (greedy, or top-k, temperature, top-p and one draw from
the row's own random generator), its log-probability over the whole vocabulary and the top
candidates. The results are the same, bit for bit, as those row-by-row definitions; the work is
not. Each row's vocabulary (151,936 logits for Marco-o1) is read from memory once, by
`_scan_row`, and every later pass over it finds the row in the CPU's cache:

- the maximum of every group of GROUP logits; the k-th largest group maximum is a threshold that
  at least k logits reach, so one comparison finds a few dozen candidates, then sorted (value
  descending, id ascending);
- the log-normalizer, `base.log_normalizer`, into a scratch row reused by the thread.

Rows are scanned on helper threads too when the engine has them (numpy lets go of the GIL; on
the project's 2-core machine two threads measured no faster than one, see the README), and the
draws of the rows that share their sampling settings are computed together. Rows that need the
whole vocabulary ordered (top_k 0) or hold no finite maximum take `base.top_ids` alone.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, cast

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

    With a `pool` of threads, the rows are scanned on its threads, each row exactly as it
    would be alone."""
    n, size = logits.shape
    widths = [_sample_width(s, size) for s in samplings]
    needs = [min(max(width, TOP_LOGPROBS), size) for width in widths]
    scans = _scan(logits, needs, pool)
    tokens = np.zeros(n, dtype=np.int64)
    by_setting: dict[tuple[float, float, int], list[int]] = {}
    for row, sampling in enumerate(samplings):
        if sampling.temperature > 0:
            by_setting.setdefault((sampling.temperature, sampling.top_p, widths[row]), []).append(
                row
            )
        elif np.isfinite(scans[row].peak):
            tokens[row] = scans[row].ids[0]  # the first of the best in id order, as argmax
        else:
            tokens[row] = np.argmax(logits[row])  # argmax's own rule for NaN
    for (temperature, top_p, width), rows in by_setting.items():
        stacked = np.stack([scans[row].values[:width] for row in rows])
        choice = _draw(stacked, temperature, top_p, [rngs[row] for row in rows])
        tokens[rows] = [scans[row].ids[c] for row, c in zip(rows, choice, strict=True)]

    picked: list[int] = tokens.tolist()
    result: list[TokenLogprobs] = []
    for row, (token, scan) in enumerate(zip(picked, scans, strict=True)):
        best = scan.ids[:TOP_LOGPROBS]
        result.append(
            TokenLogprobs(
                token=token,
                logprob=float(logits[row, token]) - scan.norm,
                top_ids=tuple(best.tolist()),
                top_logprobs=tuple((scan.values[: best.size] - scan.norm).tolist()),
            )
        )
    return picked, result


class RowPool:
    """Helper threads for the rows of a step, one fewer than `threads`: the calling thread
    scans rows too. `close` stops them."""

    def __init__(self, threads: int) -> None:
        self.helpers = max(0, threads - 1)
        self._executor = ThreadPoolExecutor(self.helpers) if self.helpers else None
        self.cpu_seconds = 0.0
        """CPU time the helper threads have spent in `work` (the caller's own is its to count)."""

    def run(self, work: Callable[[], None], helpers: int) -> None:
        """`work` on this thread and on up to `helpers` of the pool's threads at once."""

        def timed() -> float:
            started = time.thread_time()
            work()
            return time.thread_time() - started

        executor = self._executor
        started = (
            [executor.submit(timed) for _ in range(min(helpers, self.helpers))] if executor else []
        )
        work()
        for future in started:
            self.cpu_seconds += future.result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()


class _RowScan(NamedTuple):
    """What one pass over a row finds: its maximum, its `need` best ids (value descending, id
    ascending) with their values as float64, and its log-normalizer."""

    peak: float
    ids: np.ndarray
    values: np.ndarray
    norm: float


_scratch = threading.local()


def _scan(logits: np.ndarray, needs: list[int], pool: RowPool | None) -> list[_RowScan]:
    """`_scan_row` of every row, on this thread and the pool's. Each thread takes the next row
    not yet taken, so that a helper slow to wake (an idle CPU of a virtual machine can take
    milliseconds) does not hold the step up: this thread meanwhile scans the rows."""
    n = logits.shape[0]
    scans: list[_RowScan | None] = [None] * n
    taken = itertools.count()  # next() is atomic: no row is taken twice

    def work() -> None:
        scratch = getattr(_scratch, "row", None)  # one per thread, reused: stays in its cache
        if scratch is None or scratch.shape != logits.shape[1:] or scratch.dtype != logits.dtype:
            scratch = _scratch.row = np.empty(logits.shape[1], dtype=logits.dtype)
        while (row := next(taken)) < n:
            scans[row] = _scan_row(logits[row], needs[row], scratch)

    if pool is None or n == 1:
        work()
    else:
        pool.run(work, helpers=n - 1)
    return cast(list[_RowScan], scans)


def _scan_row(row: np.ndarray, need: int, scratch: np.ndarray) -> _RowScan:
    maxima = _group_maxima(row, need) if need < row.size else None
    peak = maxima.max() if maxima is not None else row.max()
    if maxima is not None and np.isfinite(peak):
        # The need-th largest group maximum: `need` groups hold a logit at least that large,
        # so at least `need` logits reach it, and every logit of the `need` best does.
        threshold = -np.partition(-maxima, need - 1)[need - 1]
        ids = np.flatnonzero(row >= threshold)
        found = row[ids]
        take = np.lexsort((ids, -found))[:need]
        ids, values = ids[take], found[take]
    else:
        ids = top_ids(row, need)
        values = row[ids]
    return _RowScan(peak, ids, values.astype(np.float64), log_normalizer(row, peak, scratch))


def _group_maxima(row: np.ndarray, k: int) -> np.ndarray:
    """The maximum of each of at least k groups of a row's logits. A group is every
    `columns`-th logit (ids g, g + columns, ...; any partition serves): the maxima are then an
    elementwise maximum over GROUP slices of the row, which is faster than a reduction over
    short contiguous blocks. The ids past GROUP * columns form one more group."""
    size = row.size
    group = max(1, min(GROUP, size // k))
    columns = size // group
    maxima = row[: group * columns].reshape(group, columns).max(axis=0)
    if group * columns < size:
        maxima = np.append(maxima, row[group * columns :].max())
    return maxima


def _sample_width(sampling: Sampling, size: int) -> int:
    """How many of the best tokens a draw chooses from: top_k, or all (top_k 0); 1 for greedy."""
    if sampling.temperature <= 0:
        return 1
    return min(sampling.top_k, size) if sampling.top_k > 0 else size


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
