"""Numbers as Rich tables: matrices, vectors and tensor summaries."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from autograd_cli.records import TensorRecord, Values


def format_number(value: float | int | bool) -> str:
    """Four decimals, as torch prints small tensors; NaN and inf spelt as torch does."""
    if isinstance(value, bool):
        return str(value)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4f}"


def format_shape(shape: Sequence[int] | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(map(str, shape)) + (",)" if len(shape) == 1 else ")")


def matrix_table(values: Values, title: str | None = None) -> Table:
    """A 0-, 1- or 2-d tensor's values in a grid: one row per matrix row."""
    rows: list[list[Values]]
    if not isinstance(values, list):
        rows = [[values]]
    elif not values or not isinstance(values[0], list):
        rows = [list(values)]
    else:
        rows = [row if isinstance(row, list) else [row] for row in values]
    # As wide as the title at least, so a long title ("call 10001") stays on one line.
    title_width = len(title) if title else None
    table = Table(title=title, show_header=False, box=None, pad_edge=False, min_width=title_width)
    width = max((len(row) for row in rows), default=0)
    for _ in range(width):
        table.add_column(justify="right")
    for row in rows:
        table.add_row(*(format_number(v) for v in row if not isinstance(v, list)))
    return table


def tensor_summary_table(records: Sequence[TensorRecord]) -> Table:
    """One row per tensor: the properties autograd cares about."""
    table = Table("name", "shape", "dtype", "requires_grad", "is_leaf", "grad_fn")
    for rec in records:
        table.add_row(
            Text(rec.name, style="bold"),
            format_shape(rec.shape),
            rec.dtype,
            str(rec.requires_grad),
            str(rec.is_leaf),
            Text(rec.grad_fn or "None", style="cyan" if rec.grad_fn else "dim"),
        )
    return table
