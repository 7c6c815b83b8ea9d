"""Benchmark tables (`marco_cli.bench.report.TextTable`) as Rich tables for the terminal."""

from __future__ import annotations

from rich.table import Table

from marco_cli.bench.report import TextTable


def render_rich(table: TextTable) -> Table:
    """A rich.table.Table (with the notes as its caption)."""
    out = Table(title=table.title, caption="\n".join(table.notes) or None, caption_justify="left")
    for header, align in zip(table.headers, table.align, strict=True):
        out.add_column(header, justify="right" if align == "r" else "left")
    for row in table.rows:
        out.add_row(*row)
    return out
