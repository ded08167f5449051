"""Grad modes: one table row per way of computing the result, then what each row means.

The table holds the facts (flags, grad_fn, storage, backward, saved bytes); below it each
row gets its code and, where backward fails, torch's message and our explanation.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from autograd_cli.records.reports import BenchReport, ModeRow, ModesReport
from autograd_cli.render.blocks import failure_text
from autograd_cli.render.labels import format_bytes, format_number
from autograd_cli.render.tables import RowBlocks


def _flag(value: bool) -> Text:
    return Text(str(value), style="green" if value else "dim")


def _shares(row: ModeRow) -> Text:
    if not row.shares_storage:
        return _flag(False)
    return Text("itself" if row.mode == "plain" else "True", style="yellow")


def _backward_cell(row: ModeRow) -> Text:
    if row.backward.works:
        return Text("works", style="green")
    return Text("fails", style="bold red")


def _details(row: ModeRow, report: ModesReport) -> Text:
    z = report.result
    text = Text(row.code, style="cyan")
    outcome = row.backward
    if outcome.works:
        filled = ", ".join(f"{name}.grad" for name in outcome.filled) or "no .grad"
        text.append(f"\nbackward fills {filled}")
        if report.freeze is not None and row.mode == "frozen":
            text.append(f"; {report.freeze}.grad stays None")
    elif outcome.failure is not None:
        text.append("\n")
        text.append_text(failure_text(outcome.failure))
    if row.inplace is not None:
        before, after = format_number(row.inplace.before), format_number(row.inplace.after)
        text.append(
            f"\nshares {z}'s storage: add_(1) on it moved {z}'s first value from {before} "
            f"to {after}",
            style="yellow",
        )
    return text


def modes_view(report: ModesReport) -> Group:
    z = report.result
    # No vertical rules and one space between columns: seven columns fit in 80.
    table = Table(box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    table.add_column("mode", no_wrap=True)
    for header in ("requires_grad", "grad_fn", "is_leaf", "shares storage", "backward"):
        table.add_column(header)
    table.add_column("saved", justify="right")
    details = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 1, 0))
    details.add_column(style="bold", no_wrap=True)
    details.add_column(overflow="fold")  # code too long for a narrow terminal wraps, whole
    for row in report.rows:
        table.add_row(
            Text(row.mode, style="bold"),
            _flag(row.requires_grad),
            Text(row.grad_fn or "None", style="cyan" if row.grad_fn else "dim"),
            _flag(row.is_leaf),
            _shares(row),
            _backward_cell(row),
            format_bytes(row.saved_bytes),
        )
        details.add_row(row.mode, _details(row, report))
    intro = Text(
        f"Each row computes {z} from fresh copies of the leaves, then runs "
        f"{report.backward_code}. 'shares storage' compares with the tracked {z}; 'saved' "
        "counts the storages autograd kept for backward, each once.",
        style="italic",
    )
    caption = Text(
        "detach() comes after a tracked forward, so it saved as much as plain: it cuts the "
        "result off the graph only afterwards.",
        style="italic",
    )
    return Group(intro, Text(), RowBlocks(table), Text(), caption, Text(), details)


def bench_view(report: BenchReport) -> Group:
    table = Table("way", "median", "ratio", "saved", title=_bench_title(report))
    for column in table.columns[1:]:
        column.justify = "right"
    for row in report.rows:
        table.add_row(
            Text(row.code),
            f"{row.median_s * 1e3:.3f} ms",
            f"{row.ratio:.2f}x",
            format_bytes(row.saved_bytes),
        )
    return Group(
        table,
        Text(
            f"Ratios divide by the median of '{report.baseline}' in this same run. Without "
            "tracking the forward pass records no graph and saves nothing for backward: "
            "that is why no_grad makes inference cheaper.",
            style="italic",
        ),
    )


def _bench_title(report: BenchReport) -> str:
    what = f"w: ({report.size}, {report.size})" if report.size is not None else "the result"
    return f"--bench: median of {report.repeat} runs each, {what}"


def modes_output(report: ModesReport, bench: BenchReport | None) -> Group:
    """The whole `modes` view: the table and its details, then the bench when there is one."""
    views: list[RenderableType] = [modes_view(report)]
    if bench is not None:
        views += [Text(), bench_view(bench)]
    return Group(*views)
