"""Drawing a search tree: live while MCTS runs, once at the end, or from a saved file.

Everything here reads *plain data*: the snapshot dict of a search event (`event.snapshot()`) or
a `--save-tree` document, which share one shape::

    {"format": "marco-search-tree", "iteration": i, "iterations": n, "answer": ..., "reward": ...,
     "best_path": [ids], "stats": {...}, "stop_reason": ..., "tree": {"nodes": [
         {"id", "parent", "kind", "text", "visits", "q", "confidence", "terminal", "answer",
          "children", ...}, ...]}}

so this module never imports the search. Each node is one line: its kind, N, Q, its own
confidence, the extracted answer ("✔ 42" on an answer node, "⇢ 42" on a node whose rollout
reached that answer) and a snippet of its action text; a legend line under the tree says so.
The best path is highlighted. When a height is given, the least visited (then lowest-valued)
subtrees are folded into "… k more" lines until the drawing fits; the best path always stays.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text
from rich.tree import Tree as RichTree

from marco_cli.errors import UsageError
from marco_cli.search import SearchEvent
from marco_cli.ui.console import terminal_safe

DOCUMENT_FORMAT = "marco-search-tree"
DOCUMENT_VERSION = 1
"""The `--save-tree` format this module draws (`search.results` writes it; a test keeps the two
equal, since this module does not import the search)."""
KIND_STYLES = {
    "root": "bold",
    "step": "cyan",
    "mini": "blue",
    "reflection": "magenta",
    "answer": "green",
}
KIND_LABELS = {
    "root": "root",
    "step": "step",
    "mini": "mini",
    "reflection": "reflect",
    "answer": "answer",
}
SNIPPET_CHARS = 72
MAX_REFRESH_PER_SECOND = 8.0


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = terminal_safe(" ".join(text.split()))  # the model's text: escapes shown, not run
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _number(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def _node_line(node: Mapping[str, Any], on_best: bool) -> Text:
    kind = str(node.get("kind", "?"))
    line = Text(no_wrap=True, overflow="ellipsis")
    if on_best:
        line.append("▶ ", style="bold yellow")
    line.append(f"{KIND_LABELS.get(kind, kind):<7}", style=KIND_STYLES.get(kind, ""))
    q, confidence = _number(node.get("q")), _number(node.get("confidence"))
    line.append(
        f" N={node.get('visits', 0):<3} Q={q} c={confidence} ", style="" if on_best else "dim"
    )
    # The answer mark comes before the text: a narrow terminal cuts the end of the line, and
    # the text is what can be spared.
    terminal = node.get("terminal")
    answer = node.get("answer")
    if answer:
        line.append(f"✔ {_snippet(str(answer), 40)}  ", style="bold green")
    elif node.get("rollout_answer"):  # its rollout reached an answer; the path is not a node yet
        line.append(f"⇢ {_snippet(str(node['rollout_answer']), 40)}  ", style="green")
    elif terminal in ("eos", "length"):
        line.append(f"✘ {'ended' if terminal == 'eos' else 'token limit'}  ", style="red")
    if kind == "root":
        line.append("(question)", style="dim")
    else:
        line.append(_snippet(str(node.get("text", ""))) or "∅", style="bold" if on_best else "")
    return line


LEGEND = (
    "N visits · Q mean value · c own confidence · ▶ best path · ✔ answer · ⇢ its rollout's answer"
)


def _footer(doc: Mapping[str, Any], elapsed_offset: float = 0.0) -> Text:
    stats = doc.get("stats") or {}
    wall = float(stats.get("wall_seconds", 0.0)) + elapsed_offset
    generated = int(stats.get("generated", 0))
    speed = generated / wall if wall > 0 else 0.0
    parts = [
        f"iteration {doc.get('iteration', 0)}/{doc.get('iterations', '?')}",
        f"{generated:,} tokens",
        f"{speed:.1f} tok/s",
        f"{wall:.1f}s",
    ]
    if stats.get("eval_ratio"):
        parts.append(f"evaluated/unique {float(stats['eval_ratio']):.2f}")
    if stats.get("completed") is not None:
        parts.append(f"{stats['completed']} answers")
    if doc.get("stop_reason"):
        parts.append(f"stopped: {doc['stop_reason']}")
    return Text(" · ".join(parts), style="dim", no_wrap=True, overflow="ellipsis")


def _answer_line(doc: Mapping[str, Any]) -> Text | None:
    answer = doc.get("answer")
    if not answer:
        return None
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("best answer: ", style="bold")
    line.append(_snippet(str(answer), 120), style="bold green")
    if doc.get("reward") is not None:
        line.append(f"  (reward {_number(doc['reward'])})", style="dim")
    return line


def _visible(
    nodes: dict[int, Mapping[str, Any]], best: set[int], budget: int | None
) -> tuple[set[int], dict[int, int]]:
    """Which nodes to draw within `budget` lines (None: all), and per drawn node how many of
    its children are folded away."""
    root = 0
    children = {i: [c for c in n.get("children", []) if c in nodes] for i, n in nodes.items()}
    if budget is None:
        return set(nodes), {}
    visible = {root}
    hidden = {root: len(children[root])}
    lines = 1 + (1 if hidden[root] else 0)

    def key(i: int) -> tuple:
        n = nodes[i]
        return (i not in best, -int(n.get("visits", 0)), -float(n.get("q") or 0.0), i)

    frontier = [(key(c), c) for c in children[root]]
    heapq.heapify(frontier)
    while frontier:
        _, node_id = heapq.heappop(frontier)
        parent = nodes[node_id]["parent"]
        cost = 1 - (1 if hidden[parent] == 1 else 0) + (1 if children[node_id] else 0)
        if lines + cost > budget and node_id not in best:
            continue
        visible.add(node_id)
        lines += cost
        hidden[parent] -= 1
        hidden[node_id] = len(children[node_id])
        for child in children[node_id]:
            heapq.heappush(frontier, (key(child), child))
    return visible, {i: h for i, h in hidden.items() if h > 0}


def render_tree(
    doc: Mapping[str, Any], *, max_lines: int | None = None, elapsed_offset: float = 0.0
) -> RenderableType:
    """The tree of a snapshot or saved document, folded to `max_lines` lines when given."""
    nodes = {int(n["id"]): n for n in doc["tree"]["nodes"]}
    best = {int(i) for i in doc.get("best_path", [])}
    extras: list[Text] = [_footer(doc, elapsed_offset)]
    answer = _answer_line(doc)
    if answer is not None:
        extras.insert(0, answer)
    # the legend only where the whole tree fits with it: a small terminal needs the lines
    if max_lines is None or len(nodes) + len(extras) + 1 <= max_lines:
        extras.append(Text(LEGEND, style="dim", no_wrap=True, overflow="ellipsis"))
    budget = None if max_lines is None else max(3, max_lines - len(extras))
    visible, folded = _visible(nodes, best, budget)

    def build(node_id: int, branch: RichTree) -> None:
        kids = [c for c in nodes[node_id].get("children", []) if c in visible]
        for child in kids:
            sub = branch.add(_node_line(nodes[child], child in best))
            build(child, sub)
        if folded.get(node_id):
            hidden_ids = [c for c in nodes[node_id].get("children", []) if c not in visible]
            visits = sum(int(nodes[c].get("visits", 0)) for c in hidden_ids if c in nodes)
            branch.add(Text(f"… {folded[node_id]} more (N={visits})", style="dim", no_wrap=True))

    if 0 not in nodes:
        return Group(Text("(empty tree)", style="dim"), *extras)
    top = RichTree(_node_line(nodes[0], 0 in best), guide_style="dim")
    build(0, top)
    return Group(top, *extras)


class LiveTree:
    """The growing tree on a terminal (stderr), fed by the search's `on_event`.

    An event only stores its snapshot (plain data, cheap). A small thread draws at most
    `refresh_per_second` times a second, and only when a new snapshot arrived (or once a second
    to move the clock), so the search never waits for the terminal and an idle tree costs
    nothing. With `keep=False` the tree is erased when the search ends (`--no-tree`).
    """

    def __init__(
        self,
        console: Console,
        *,
        keep: bool = True,
        refresh_per_second: float = MAX_REFRESH_PER_SECOND,
    ) -> None:
        self.console = console
        self.interval = 1.0 / min(refresh_per_second, MAX_REFRESH_PER_SECOND)
        self.draws = 0
        self._snapshot: Mapping[str, Any] | None = None
        self._snapshot_at = time.monotonic()
        self._version = 0
        self._drawn = -1
        self._done = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = Live(
            console=console,
            auto_refresh=False,
            transient=not keep,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def _renderable(self) -> RenderableType:
        snapshot = self._snapshot
        if snapshot is None:
            return Text("starting the search…", style="dim")
        offset = 0.0 if self._done else time.monotonic() - self._snapshot_at
        height = max(5, self.console.size.height - 1)
        return render_tree(snapshot, max_lines=height, elapsed_offset=offset)

    def _draw(self) -> None:
        version = self._version
        self._live.update(self._renderable(), refresh=True)
        self._drawn = version
        self.draws += 1

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stopping.wait(self.interval):
            now = time.monotonic()
            if self._version != self._drawn or now - last >= 1.0:
                self._draw()
                last = now

    def __call__(self, event: SearchEvent) -> None:
        snapshot = event.snapshot()
        self._snapshot, self._snapshot_at = snapshot, time.monotonic()
        if getattr(event, "kind", None) == "done":
            self._done = True
        self._version += 1

    def start(self) -> LiveTree:
        self._live.start()
        self._thread = threading.Thread(target=self._run, name="marco-live-tree", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._done = True
        if self._snapshot is not None:
            self._draw()  # the final state (erased right after when not kept)
        self._live.stop()

    def __enter__(self) -> LiveTree:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def print_tree(console: Console, doc: Mapping[str, Any], *, max_lines: int | None = None) -> None:
    """Draw a snapshot or saved document once (no live display)."""
    console.print(render_tree(doc, max_lines=max_lines))


def load_tree_document(path: Path) -> dict[str, Any]:
    """Read a `--save-tree` file, checking enough of its shape to draw it."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file; pass a tree saved with --save-tree")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file; pass a tree saved with --save-tree") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != DOCUMENT_FORMAT:
        raise UsageError(
            f'{path}: not a marco search tree (expected "format": "{DOCUMENT_FORMAT}")'
        )
    if doc.get("version", DOCUMENT_VERSION) != DOCUMENT_VERSION:
        raise UsageError(
            f"{path}: a search tree of format version {doc.get('version')!r}; this marco "
            f"reads version {DOCUMENT_VERSION} (save the tree again with this marco's --save-tree)"
        )
    nodes = (doc.get("tree") or {}).get("nodes") if isinstance(doc.get("tree"), dict) else None
    if not isinstance(nodes, list) or not all(
        isinstance(n, dict) and "id" in n and "parent" in n for n in nodes
    ):
        raise UsageError(f"{path}: the tree's node list is missing or malformed")
    ids = {n["id"] for n in nodes}
    if 0 not in ids or any(n["parent"] is not None and n["parent"] not in ids for n in nodes):
        raise UsageError(f"{path}: the tree's nodes do not connect to a root")
    return doc
