"""Numbers as Rich tables (matrices, vectors, summaries), and the code and fact lines of views."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from autograd_cli.records.graph import GraphRecord
from autograd_cli.records.tensors import Numbers, Summary, TensorRecord, Values, format_shape
from autograd_cli.render.labels import format_bytes, format_number
from autograd_cli.render.limits import ViewOptions

#: Below this many columns a table of several facts a row cuts its cells to `…`.
NARROW = 60


class RowBlocks:
    """A table that, on a terminal narrower than `NARROW`, prints one block per row instead:
    its first cell, then `header: value` for the others, so that every value stays whole.
    """

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= NARROW:
            yield self.table
            return
        if self.table.title is not None:
            yield Text(str(self.table.title), style="italic")
        columns = self.table.columns
        for index, row in enumerate(zip(*(column.cells for column in columns), strict=True)):
            if index:
                yield Text()
            yield _cell(row[0])
            for column, cell in zip(columns[1:], row[1:], strict=True):
                yield Text.assemble("  ", (f"{column.header}: ", "dim"), _cell(cell))


class PaddedRows(RowBlocks):
    """A table of one-line cells, printed as padded lines when it fits the width: what
    Rich's `Table` (no box, no edge padding) prints for it, made straight as segments: the
    unstyled text between two styled cells is one segment, a styled cell its own. Measuring
    and rendering each cell as a renderable of its own, as `Table` does, costs a module view
    with a few rows more than walking the whole graph, and Rich's printing costs per segment.
    Wider than the terminal, it is the `Table` itself (which wraps), and narrower than
    `NARROW`, one block per row.
    """

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = self.table.columns
        header = Style.parse(str(self.table.header_style or ""))
        grid = [  # each column's cells with their widths, measured once
            [(cell, _cell_width(cell)) for cell in (_styled(column.header, header), *column.cells)]
            for column in columns
        ]
        widths = [max(used for _, used in cells) for cells in grid]
        if options.max_width < NARROW or sum(widths) + 2 * (len(widths) - 1) > options.max_width:
            yield from super().__rich_console__(console, options)
            return
        right = [column.justify == "right" for column in columns]
        for row in zip(*grid, strict=True):
            plain: list[str] = []  # unstyled text runs up to the next styled cell: one segment
            for index, ((cell, used), width, rjust) in enumerate(
                zip(row, widths, right, strict=True)
            ):
                pad = " " * (width - used)
                if index:
                    plain.append("  ")
                if rjust:
                    plain.append(pad)
                if not isinstance(cell, Text):
                    plain.append(str(cell))
                elif cell.style or cell.spans:
                    yield Segment("".join(plain))
                    plain.clear()
                    yield from _segments(cell, console)
                else:
                    plain.append(cell.plain)
                if not rjust:
                    plain.append(pad)
            plain.append("\n")
            yield Segment("".join(plain))


def _segments(text: Text, console: Console) -> Iterable[Segment]:
    if text.spans:
        return text.render(console)
    # `Text.render` leaves out the style of a text without spans: the caller applies it
    return (Segment(text.plain, console.get_style(text.style)),)


def _styled(cell: RenderableType, style: Style) -> Text:
    if isinstance(cell, str):  # a style without spans: one segment, no `Text.render`
        return Text(cell, style=style)
    text = _cell(cell).copy()
    text.stylize(style)
    return text


def _cell_width(cell: RenderableType) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))


def _cell(cell: RenderableType) -> Text:
    if isinstance(cell, Text):
        return cell
    return Text(str(cell))


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


def tensor_summary_table(records: Sequence[TensorRecord]) -> RowBlocks:
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
    return RowBlocks(table)


def op_table(graph: GraphRecord) -> Table:
    """Count per op name and the bytes its nodes saved for backward (when inspected)."""
    ops = graph.ops()
    with_bytes = graph.saved_bytes is not None
    table = Table("op", "nodes", title="ops in the graph", title_justify="left")
    table.columns[1].justify = "right"
    if with_bytes:
        table.add_column("saved for backward", justify="right")
    for op in ops:
        cells: list[RenderableType] = [Text(op.name, style="cyan"), f"{op.count:,}"]
        table.add_row(*cells, *([format_bytes(op.saved_bytes)] if with_bytes else []))
    total: list[RenderableType] = [Text("total", style="bold"), f"{len(graph.nodes):,}"]
    if with_bytes:
        total.append(format_bytes(sum(op.saved_bytes or 0 for op in ops)))
    table.add_section()
    table.add_row(*total)
    if with_bytes:
        table.caption = (
            f"autograd keeps {format_bytes(graph.saved_bytes)} alive for backward"
            " (each storage once: views and tensors saved twice count once)"
        )
        table.caption_justify = "left"
    return table


def table_view(graph: GraphRecord, options: ViewOptions | None = None) -> RenderableType:
    """`--format table`: the op summary on its own (limits do not apply to a summary)."""
    return op_table(graph)
