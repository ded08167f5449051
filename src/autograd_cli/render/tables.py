"""Numbers as Rich tables (matrices, vectors, summaries), and the code and fact lines of views."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from autograd_cli.records import Numbers, Summary, TensorRecord, Values


def format_number(value: float | int | bool) -> str:
    """Four decimals, as torch prints small tensors; NaN and inf spelt as torch does."""
    if isinstance(value, bool):
        return str(value)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.4f}"
    return "0.0000" if text == "-0.0000" else text  # a sign on nothing is noise


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
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    width = max((len(row) for row in rows), default=0)
    for _ in range(width):
        table.add_column(justify="right")
    for row in rows:
        table.add_row(*(format_number(v) for v in row if not isinstance(v, list)))
    return table


def summary_view(summary: Summary, title: str) -> Group:
    """Statistics on one line, then the corner of values under its index."""

    def stat(value: float | None) -> str:
        return "-" if value is None else format_number(value)

    stats = Text.assemble(
        (title, "bold"),
        f"  shape {format_shape(summary.shape)}  min {stat(summary.min)}  max {stat(summary.max)}"
        f"  mean {stat(summary.mean)}  norm {stat(summary.norm)}",
    )
    corner = Text(f"{title}{summary.corner_index}", style="bold")
    return Group(stats, corner, matrix_table(summary.corner))


def numbers_view(numbers: Numbers, title: str) -> Group:
    """A titled grid of every value, or a summary when the tensor was too large for one."""
    if isinstance(numbers, Summary):
        return summary_view(numbers, title)
    return Group(Text(title, style="bold"), matrix_table(numbers))


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


def code(lines: list[str] | tuple[str, ...]) -> Syntax:
    return Syntax("\n".join(lines), "python", theme="ansi_dark", background_color="default")


def fact(holds: bool, text: str) -> Text:
    mark, style = ("✓", "green") if holds else ("✗", "bold red")
    return Text.assemble((f"{mark} ", style), text)
