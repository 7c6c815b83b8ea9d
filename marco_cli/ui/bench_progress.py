"""Progress of a bench run on stderr: a Rich display on a terminal; elsewhere a plain line per
attempt with --verbose, else one at most every 10 s (none with --quiet).

It only reads `AttemptDone` events from the runner; the runner never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

from marco_cli.bench.runner import AttemptDone
from marco_cli.ui.console import terminal_safe

__all__ = ["BenchProgress", "PeriodicProgress", "PlainProgress", "format_eta"]


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _fields(event: AttemptDone) -> dict[str, str]:
    accuracy = f"{100 * event.correct / event.done:.1f}%" if event.done else "–"
    speed = f"{event.generated / event.seconds:.1f}" if event.seconds > 0 else "–"
    remaining = event.total - event.done
    eta = (event.seconds / event.new) * remaining if event.new else None
    return {"acc": accuracy, "tps": speed, "eta": format_eta(eta if remaining else 0)}


class BenchProgress:
    """Per dataset x strategy: done/total, running accuracy, tokens/s, ETA (its own remaining
    attempts at its own mean time per attempt)."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("acc {task.fields[acc]:>6}"),
            TextColumn("{task.fields[tps]:>6} tok/s"),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
            transient=False,
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}

    def __enter__(self) -> BenchProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def add(self, dataset: str, strategy: str, total: int) -> None:
        key = (dataset, strategy)
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(
                f"{dataset} {strategy}", total=total, acc="–", tps="–", eta="–"
            )

    def __call__(self, event: AttemptDone) -> None:
        self.add(event.dataset, event.strategy, event.total)
        task = self._tasks[(event.dataset, event.strategy)]
        f = _fields(event)
        self._progress.update(task, completed=event.done, acc=f["acc"], tps=f["tps"], eta=f["eta"])


class PeriodicProgress:
    """A plain line at most every 10 s (`progress_lines`), where stderr is not a terminal and
    neither `--verbose` (a line per attempt) nor `--quiet` is given."""

    def __init__(self, console: Console) -> None:
        from marco_cli.ui.progress_lines import ProgressLines

        self._lines = ProgressLines(console)

    def __call__(self, event: AttemptDone) -> None:
        f = _fields(event)
        self._lines(
            lambda: (
                f"bench: {event.dataset} {event.strategy} {event.done}/{event.total} "
                f"acc={f['acc']} tok/s={f['tps']} eta={f['eta']}"
            )
        )


class PlainProgress:
    """One plain line per attempt (for logs: `--verbose` when stderr is not a terminal)."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def __call__(self, event: AttemptDone) -> None:
        if event.resumed or event.record is None:
            return
        r = event.record
        mark = "error" if r.get("error") else ("ok" if r.get("correct") else "wrong")
        f = _fields(event)
        self._console.print(
            terminal_safe(  # the answer is the model's text: escapes shown, not run
                f"{event.dataset} {event.strategy} {event.done}/{event.total} id={r['id']} "
                f"sample={r.get('sample', 0)} {mark} answer={r.get('answer')} "
                f"ref={r.get('reference')} tokens={r.get('generated_tokens')} "
                f"seconds={r.get('seconds')} acc={f['acc']} tok/s={f['tps']} eta={f['eta']}"
            ),
            markup=False,
            highlight=False,
        )
