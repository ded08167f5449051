"""The module view and the gradient-health table, for the terminal.

The module view is one table: modules indented by depth (runs of alike blocks folded, see
`render.modules`), then the code outside every module and the total, so the column of
saved bytes adds up to the peak the saved tensors hold. The health table has one row per
parameter in module order, flags in the last column.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from autograd_cli.records.graph import GraphRecord
from autograd_cli.records.modules import ModelRecord, ModuleRecord, Thresholds, flags
from autograd_cli.records.tensors import format_shape
from autograd_cli.render.labels import format_bytes, format_count, format_magnitude, node_lines
from autograd_cli.render.modules import ModuleRow, expanded_nodes
from autograd_cli.render.tables import PaddedRows

NO_VALUE = "—"


def _norm(value: float | None) -> Text:
    if value is None:
        return Text(NO_VALUE, style="dim")
    bad = value != value or value in (float("inf"), float("-inf"))
    return Text(format_magnitude(value), style="bold red" if bad else "green")


def _module_cell(row: ModuleRow) -> Text:
    text = Text("  " * row.depth)
    text.append(row.name, style="bold" if row.expanded else "")
    return text


def _class_cell(row: ModuleRow) -> Text:
    # A folded run is bold as a whole: one style, no spans, so one segment to print
    # (Rich renders a text with spans by combining styles: 16 us a cell).
    if row.count > 1:
        return Text(f"{row.cls} x{row.count}", style="bold cyan")
    return Text(row.cls, style="cyan")


def module_view(
    model: ModelRecord,
    rows: list[ModuleRow],
    graph: GraphRecord | None = None,
    expand: ModuleRecord | None = None,
) -> RenderableType:
    """The table of modules; with `expand`, that module's backward nodes below it."""
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("module", overflow="fold")
    table.add_column("class", no_wrap=True)
    table.add_column("nodes", justify="right")
    table.add_column("params", justify="right")
    table.add_column("saved", justify="right")
    table.add_column("grad norm", justify="right")
    for row in rows:
        table.add_row(
            _module_cell(row),
            _class_cell(row),
            f"{row.nodes:,}",
            format_count(row.parameters),
            format_bytes(row.saved_bytes),
            _norm(row.grad_norm),
        )
    dim = "dim"
    table.add_row(
        Text("outside modules", style=dim),
        "",
        f"{model.outside:,}",
        "",
        format_bytes(model.outside_saved),
        "",
    )
    total_params = sum(s.parameters for s in model.stats if s.module.parent is None)
    table.add_row(
        Text("total", style="bold"),
        "",
        f"{model.nodes:,}",
        format_count(total_params),
        format_bytes(model.saved_bytes),
        "",
    )
    parts: list[RenderableType] = [PaddedRows(table)]
    if model.at_backward:
        parts.append(
            Text("saved bytes as counted when backward() began; it freed them after", style=dim)
        )
    if model.freed:
        parts.append(
            Text(
                "backward() already freed saved tensors: the saved bytes count only what is "
                "left (compute the loss again, or call backward(retain_graph=True))",
                style=dim,
            )
        )
    if model.nodes == 0:
        parts.append(Text("no backward graph: nothing was computed that requires grad", style=dim))
    if expand is not None:
        nodes = expanded_nodes(graph, model, expand)
        parts += [Text(), Text(f"nodes of {expand.label}: {len(nodes):,}", style="bold")]
        for node in nodes:  # node_lines names the module: the innermost that made it
            first, *rest = node_lines(node)
            line = Text("  " + first)
            for extra in rest:
                line.append(f"\n      {extra}", style="dim")
            parts.append(line)
    return Group(*parts)


def _ratio(value: float | None) -> str:
    return NO_VALUE if value is None else format_magnitude(value)


#: The health table's columns: header, and whether it aligns right.
_HEALTH = (
    ("parameter", False),
    ("shape", False),
    ("grad norm", True),
    ("max |g|", True),
    ("|g|/|w|", True),
    ("zeros", True),
    ("update/w", True),
)


def health_view(model: ModelRecord, limits: Thresholds | None = None) -> RenderableType:
    """One line per parameter under a line naming its module: shape, gradient norm, max |g|,
    |g|/|w|, share of exact zeros, and the update ratio of the last optimizer step (when one
    ran); the flags on a line of their own below it, so no width cuts them.

    Plain padded lines rather than a Rich table: a table cannot give the module's line the
    whole width, and these columns must line up across modules."""
    limits = limits or Thresholds()
    updates = any(p.update is not None for p in model.parameters)
    columns = _HEALTH if updates else _HEALTH[:-1]
    cells: list[list[str]] = []
    for param in model.parameters:
        row = [
            "  " + param.name.rsplit(".", 1)[-1],
            format_shape(param.shape),
            NO_VALUE if param.grad_norm is None else format_magnitude(param.grad_norm),
            _ratio(param.grad_max),
            _ratio(param.ratio),
            NO_VALUE if param.zero_share is None else f"{param.zero_share:.0%}",
        ]
        if updates:
            row.append(_ratio(None if param.update is None else param.update.ratio))
        cells.append(row)
    widths = [
        max([len(header)] + [len(row[k]) for row in cells]) for k, (header, _) in enumerate(columns)
    ]

    def line(values: list[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, (_, right) in zip(values, widths, columns, strict=True)
        ).rstrip()

    lines = [Text(line([header for header, _ in columns]), style="bold")]
    module = None
    for param, row in zip(model.parameters, cells, strict=True):
        if param.module != module:
            module = param.module
            lines.append(Text(model.modules[module].label, style="dim"))
        lines.append(Text(line(row)))
        found = flags(param, limits)
        if found:
            words = [_flag_text(flag, param.missing, param.dead_rows, param.rows) for flag in found]
            lines.append(Text("    ! " + ", ".join(words), style="bold red"))
    return Group(*lines)


def _flag_text(flag: str, missing: str | None, dead: int | None, rows: int | None) -> str:
    if flag == "no_grad":
        return f"no grad ({(missing or '').replace('_', ' ')})"
    if flag == "dead_units":
        return f"dead units: {dead} of {rows} rows of the gradient are all zero"
    return flag
