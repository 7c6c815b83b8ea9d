"""A search tree as files: one self-contained HTML page (`marco show --html`) and the terminal
drawing as SVG (`marco show --svg`).

Both read the same plain data as `live_tree` (a `--save-tree` document or a snapshot).

The HTML page needs nothing at view time: its CSS and script are inline and it loads no other
file. The document goes into the page as JSON inside a `<script type="application/json">`
element with `<`, `>` and `&` written as JSON escapes, so no text from the model can close the
element or open a tag; the script puts every string into the page with `textContent`, never as
HTML. The tree is built by the script as nested `<details>` elements (collapsible without more
code): the chosen path is open and highlighted, every other branch starts folded.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console

from marco_cli.ui.live_tree import render_tree

__all__ = ["tree_html", "tree_svg"]

SVG_WIDTH = 120


def tree_svg(
    doc: Mapping[str, Any],
    *,
    title: str = "marco show",
    max_lines: int | None = None,
    width: int = SVG_WIDTH,
) -> str:
    """The tree as `marco show` draws it on a terminal, exported by Rich as SVG."""
    console = Console(
        record=True,
        file=io.StringIO(),
        width=width,
        force_terminal=True,
        color_system="truecolor",
        highlight=False,
    )
    console.print(render_tree(doc, max_lines=max_lines))
    return console.export_svg(title=title)


def _script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no "</script>", no "<!--", no entities."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page_data(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the page shows: the nodes (without token ids) and the run's summary."""
    keys = ("id", "parent", "kind", "text", "visits", "q", "confidence", "terminal", "answer")
    nodes = [
        {
            **{k: n.get(k) for k in keys},
            "rollout_answer": n.get("rollout_answer"),
            "children": list(n.get("children", [])),
        }
        for n in doc["tree"]["nodes"]
    ]
    return {
        "question": doc.get("question"),
        "answer": doc.get("answer"),
        "reward": doc.get("reward"),
        "best_path": list(doc.get("best_path", [])),
        "iteration": doc.get("iteration"),
        "iterations": doc.get("iterations"),
        "stop_reason": doc.get("stop_reason"),
        "stats": doc.get("stats") or {},
        "nodes": nodes,
    }


def tree_html(doc: Mapping[str, Any], *, title: str = "marco search tree") -> str:
    """One self-contained HTML page showing the tree (see the module docstring)."""
    return _TEMPLATE.replace("__TITLE__", html.escape(title)).replace(
        "__DATA__", _script_json(_page_data(doc))
    )


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>__TITLE__</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1d2330;
         background: #fbfbfd; }
  header { border-bottom: 1px solid #d7dbe3; margin-bottom: 1em; padding-bottom: .6em; }
  h1 { font-size: 1.2em; margin: 0 0 .4em; }
  .qa div { margin: .2em 0; white-space: pre-wrap; }
  .qa b { display: inline-block; min-width: 5.5em; }
  .stats, .legend { color: #5b6475; font-size: .9em; margin-top: .3em; }
  .controls button { margin: .6em .4em 0 0; }
  details.node { margin-left: 1.4em; border-left: 1px dotted #c4c9d4; padding-left: .5em; }
  #tree > details.node { margin-left: 0; border-left: none; }
  summary { cursor: pointer; white-space: nowrap; }
  details.leaf > summary { list-style: none; }
  details.leaf > summary::before { content: "\\2022  "; color: #98a0b0; }
  .kind { display: inline-block; min-width: 4.8em; font-weight: 600; }
  .k-root { color: #1d2330; } .k-step { color: #0a7f95; } .k-mini { color: #2952c4; }
  .k-reflection { color: #a12fa1; } .k-answer { color: #19803a; }
  .nums { font-family: ui-monospace, monospace; font-size: .88em; color: #5b6475;
          margin-right: .6em; }
  /* The snippet gives way to the answer mark on a narrow window, never the other way. */
  .snippet { color: #1d2330; display: inline-block; max-width: 62%; overflow: hidden;
             text-overflow: ellipsis; vertical-align: bottom; }
  .mark { margin-left: .6em; font-weight: 600; }
  .mark.ok { color: #19803a; } .mark.rollout { color: #3d9a5a; } .mark.fail { color: #b3261e; }
  .text { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .88em;
          background: #f0f2f6; border-radius: 4px; padding: .35em .6em; margin: .2em 0 .3em 1.4em; }
  details.best > summary { background: #fff3c4; border-radius: 3px; }
  details.best > summary .snippet { font-weight: 600; }
  details.best > summary::marker { color: #b07d00; }
</style>
</head>
<body>
<header>
  <h1>__TITLE__</h1>
  <div class="qa">
    <div id="question"><b>question</b> <span></span></div>
    <div id="answer"><b>answer</b> <span></span></div>
  </div>
  <div class="stats" id="stats"></div>
  <div class="legend">N: visits · Q: mean backed-up value · c: the node's own token confidence ·
    ✔ answer node · ⇢ answer its rollout reached · ✘ path ended without one ·
    highlighted: the chosen path</div>
  <div class="controls">
    <button type="button" id="expand">expand all</button>
    <button type="button" id="collapse">collapse all</button>
    <button type="button" id="chosen">chosen path only</button>
  </div>
</header>
<main id="tree"></main>
<script type="application/json" id="marco-tree">__DATA__</script>
<script>
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("marco-tree").textContent);
  const nodes = new Map(data.nodes.map((n) => [n.id, n]));
  const best = new Set(data.best_path);
  const LABELS = {
    root: "root", step: "step", mini: "mini", reflection: "reflect", answer: "answer",
  };
  const num = (v) => (v === null || v === undefined ? "\\u2013" : Number(v).toFixed(3));
  const flat = (s) => String(s || "").split(/\\s+/).filter(Boolean).join(" ");
  const snippet = (s, n) => {
    const f = flat(s);
    return f.length <= n ? f : f.slice(0, n - 1) + "\\u2026";
  };
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function draw(id) {
    const n = nodes.get(id);
    const box = el("details", "node");
    box.dataset.id = String(id);
    box.dataset.kind = n.kind;
    const kids = (n.children || []).filter((c) => nodes.has(c));
    if (best.has(id)) { box.classList.add("best"); box.open = true; }
    const full = n.kind !== "root" && n.text;
    if (!kids.length && !full) box.classList.add("leaf");
    const line = el("summary");
    line.append(el("span", "kind k-" + n.kind, LABELS[n.kind] || n.kind));
    const nums = "N=" + (n.visits || 0) + " Q=" + num(n.q) + " c=" + num(n.confidence);
    line.append(el("span", "nums", nums));
    const text = n.kind === "root" ? "(question)" : snippet(n.text, 110) || "\\u2205";
    line.append(el("span", "snippet", text));
    if (n.answer) {
      line.append(el("span", "mark ok", "\\u2714 " + snippet(n.answer, 40)));
    } else if (n.rollout_answer) {
      line.append(el("span", "mark rollout", "\\u21e2 " + snippet(n.rollout_answer, 40)));
    } else if (n.terminal === "eos" || n.terminal === "length") {
      const why = n.terminal === "eos" ? "ended" : "token limit";
      line.append(el("span", "mark fail", "\\u2718 " + why));
    }
    box.append(line);
    if (full) box.append(el("div", "text", n.text));
    for (const c of kids) box.append(draw(c));
    return box;
  }
  const tree = document.getElementById("tree");
  if (nodes.has(0)) tree.append(draw(0));
  document.querySelector("#question span").textContent =
    data.question || "(not saved with this tree)";
  const reward = data.reward === null || data.reward === undefined ? ""
    : "   (reward " + num(data.reward) + ")";
  document.querySelector("#answer span").textContent = (data.answer || "(none)") + reward;
  const s = data.stats || {};
  const parts = [data.nodes.length + " nodes"];
  parts.push("iteration " + data.iteration + "/" + data.iterations);
  if (s.generated !== undefined) {
    parts.push(Number(s.generated).toLocaleString("en") + " tokens generated");
  }
  if (s.wall_seconds !== undefined) parts.push(Number(s.wall_seconds).toFixed(1) + " s");
  if (s.completed !== undefined) parts.push(s.completed + " answers");
  if (data.stop_reason) parts.push("stopped: " + data.stop_reason);
  document.getElementById("stats").textContent = parts.join(" \\u00b7 ");
  const all = () => tree.querySelectorAll("details.node");
  document.getElementById("expand").onclick = () => all().forEach((d) => { d.open = true; });
  document.getElementById("collapse").onclick = () => all().forEach((d) => { d.open = false; });
  document.getElementById("chosen").onclick = () => all().forEach((d) => {
    d.open = d.classList.contains("best");
  });
  document.body.dataset.nodes = String(all().length);
})();
</script>
</body>
</html>
"""
