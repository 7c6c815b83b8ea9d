"""`marco bench report --plot`: the summaries of one or more results files as a chart.

Two panels, drawn from `Summary` rows alone (so a chart can be made from results files long after
the run):
- left: Test@1 per strategy, grouped by dataset (and by file when several are given), with the
  Wilson 95% interval as whiskers, the same numbers as the table's "Test@1 %" and "95% CI";
- right: Test@1 against the mean generated tokens per attempt, one point per strategy, so a
  strategy is read at its cost.

matplotlib is an optional extra (`marco-cli[plot]`): it is imported only here, only when a chart is
asked for, and its absence is a `MarcoError` that names the extra. The figure is built on a bare
`Figure` with the Agg canvas (no pyplot, no display, no global state), and SVG text stays text
(`svg.fonttype: none`) so the chart can be searched and tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marco_cli.bench.stats import Summary
from marco_cli.errors import MarcoError, UsageError

__all__ = ["FORMATS", "PLOT_EXTRA", "PlotSeries", "plot_summaries"]

FORMATS = (".png", ".svg")
PLOT_EXTRA = "pip install 'marco-cli[plot]'"


@dataclass(frozen=True)
class PlotSeries:
    """The summaries of one results file and the name it goes by in the legend."""

    label: str
    summaries: Sequence[Summary]


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MarcoError(f"--plot needs matplotlib: {PLOT_EXTRA}") from None
    return matplotlib


def _bar_label(series: PlotSeries, summary: Summary, several: bool) -> str:
    label = f"{summary.dataset}\n{summary.strategy}"
    return f"{label}\n{series.label}" if several else label


def plot_summaries(series: Sequence[PlotSeries], out: Path) -> Path:
    """Write the chart to `out` (.png or .svg, chosen by the suffix) and return its path."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--plot {out}: the file must end in .png or .svg")
    rows = [(s, summary) for s in series for summary in s.summaries if summary.accuracy is not None]
    if not rows:
        raise UsageError("--plot: the results hold no answered problems to draw")
    matplotlib = _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    several = len(series) > 1
    one_dataset = len({summary.dataset for _, summary in rows}) == 1
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    strategies = list(dict.fromkeys(summary.strategy for _, summary in rows))
    colour = {name: colours[i % len(colours)] for i, name in enumerate(strategies)}
    markers = "osD^v<>p"
    marker = {s.label: markers[i % len(markers)] for i, s in enumerate(series)}

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "marco"}):
        figure = Figure(figsize=(max(8.0, 4.0 + 0.9 * len(rows)), 4.6), layout="constrained")
        FigureCanvasAgg(figure)
        bars, scatter = figure.subplots(1, 2, width_ratios=[max(1, len(rows)), 4])

        for x, (_, summary) in enumerate(rows):
            accuracy = 100 * (summary.accuracy or 0.0)
            # An answered group (n > 0) always has its interval.
            low, high = 100 * (summary.ci_low or 0.0), 100 * (summary.ci_high or 0.0)
            bars.bar(x, accuracy, color=colour[summary.strategy], alpha=0.85)
            bars.errorbar(
                x, accuracy, yerr=[[accuracy - low], [high - accuracy]], color="black", capsize=4
            )
            bars.annotate(
                f"{accuracy:.0f}%\nn={summary.n}",
                (x, high),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )
        bars.set_xticks(range(len(rows)), [_bar_label(s, m, several) for s, m in rows], fontsize=8)
        bars.set_ylim(0, 115)
        bars.set_ylabel("Test@1 accuracy (%)")
        bars.set_title("accuracy, 95% Wilson interval", fontsize=10)

        for s, summary in rows:
            if summary.mean_generated is None:
                continue
            accuracy = 100 * (summary.accuracy or 0.0)
            scatter.scatter(
                summary.mean_generated,
                accuracy,
                color=colour[summary.strategy],
                marker=marker[s.label],
                s=60,
                zorder=3,
            )
            name = summary.strategy if one_dataset else f"{summary.strategy} ({summary.dataset})"
            scatter.annotate(
                name + (f" · {s.label}" if several else ""),
                (summary.mean_generated, accuracy),
                fontsize=8,
                xytext=(5, 4),
                textcoords="offset points",
            )
        scatter.set_xlabel("generated tokens per attempt (mean)")
        scatter.set_ylabel("Test@1 accuracy (%)")
        scatter.set_ylim(-5, 110)
        scatter.margins(x=0.25)
        scatter.grid(alpha=0.3)
        scatter.set_title("accuracy against tokens spent", fontsize=10)

        models = ", ".join(sorted({summary.model for _, summary in rows}))
        figure.suptitle(f"marco bench: {models}", fontsize=11)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            # No date or software version in the file: the same results draw the same bytes.
            metadata = {"Date": None} if suffix == ".svg" else {"Software": None}
            figure.savefig(out, format=suffix[1:], dpi=110, metadata=metadata)
        except OSError as exc:
            raise UsageError(f"cannot write the chart {out}: {exc.strerror or exc}") from None
    return out
