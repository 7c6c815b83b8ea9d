"""Bench problems on several engines at once (servers): one problem in flight on each."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from marco_cli.bench.datasets import Problem
from marco_cli.bench.strategies import StrategySpec
from marco_cli.engine.base import Engine


def run_in_lanes(
    problems: Sequence[Problem],
    engines: Sequence[Engine],
    attempts: Callable[[Problem, Engine], Iterator[tuple[StrategySpec, dict[str, Any]]]],
    keep: Callable[[StrategySpec, dict[str, Any]], None],
) -> None:
    """Run the problems with one in flight per engine; `keep` each record in this thread.

    A failure or Ctrl-C stops the lanes after their current attempt (what is in flight is cut
    when the caller closes the engines); every record finished before it is kept first.
    """
    free: queue.Queue[Engine] = queue.Queue()
    for lane in engines:
        free.put(lane)
    done: queue.Queue[tuple[StrategySpec, dict[str, Any]]] = queue.Queue()
    stop = threading.Event()

    def work(problem: Problem) -> None:
        if stop.is_set():
            return
        lane = free.get()
        try:
            for spec, record in attempts(problem, lane):
                done.put((spec, record))
                if stop.is_set():
                    return
        finally:
            free.put(lane)

    pool = ThreadPoolExecutor(max_workers=len(engines), thread_name_prefix="marco-bench")
    futures = [pool.submit(work, problem) for problem in problems]
    try:
        while True:
            try:
                keep(*done.get(timeout=0.05))
                continue
            except queue.Empty:
                pass
            failed = next((f for f in futures if f.done() and f.exception()), None)
            if failed is not None:
                raise failed.exception()  # type: ignore[misc]
            if all(f.done() for f in futures) and done.empty():
                break
    except BaseException:
        stop.set()
        while not done.empty():  # finished before the failure: kept
            keep(*done.get())
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
