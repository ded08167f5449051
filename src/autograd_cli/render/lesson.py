"""The lesson walk-through: one titled section per part of the lesson."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from autograd_cli.records.reports import LessonReport
from autograd_cli.records.tensors import TensorRecord
from autograd_cli.render.accumulate import accumulation_view
from autograd_cli.render.blocks import code_block, fact
from autograd_cli.render.tables import RowBlocks, matrix_table, tensor_summary_table
from autograd_cli.render.tree import graph_tree


class _Heading:
    """A rule with the title on it; on a terminal too narrow for the title, the title alone
    (the rule would cut it to `…`)."""

    def __init__(self, title: str) -> None:
        self.title = Text(title, style="bold")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title.cell_len + 2 <= options.max_width:
            yield Rule(self.title.copy(), align="left")
        else:
            yield self.title


def _section(number: int, title: str, sentence: str, *body: RenderableType) -> Group:
    return Group(
        _Heading(f"{number}. {title}"),
        Text(sentence, style="italic"),
        Text(),
        *body,
        Text(),
    )


def _grad_tables(records: list[TensorRecord]) -> list[RenderableType]:
    return [matrix_table(rec.grad, title=f"{rec.name}.grad") for rec in records if rec.grad]


def lesson_view(report: LessonReport) -> Group:
    names = ", ".join(rec.grad_fn or "" for rec in report.tensors if rec.grad_fn)
    modes = Table("how z is computed", "z.requires_grad")
    for row in report.modes:
        modes.add_row(Text(row.code), str(row.requires_grad))
    rows_fact = "every row of w.grad equals b.grad, because x is all ones"
    return Group(
        _section(
            1,
            "The simplest one-layer network",
            "The input x, the target y, and the parameters w and b that require grad.",
            code_block(list(report.source.values())),
            Text(),
            tensor_summary_table(report.tensors),
        ),
        _section(
            2,
            "The backward function is stored in grad_fn",
            f"Each result remembers the op that made it: {names}.",
            *(
                Text.assemble(f"{name}.grad_fn = ", (fn, "cyan"))
                for name, fn in report.grad_fns.items()
            ),
            Text(),
            graph_tree(report.graph),
        ),
        _section(
            3,
            "Computing gradients",
            "loss.backward() fills w.grad and b.grad with d(loss)/dw and d(loss)/db.",
            *_grad_tables(report.gradients),
            fact(report.rows_equal_b, rows_fact),
        ),
        _section(
            4,
            "Disabling gradient tracking",
            "Under no_grad, or after detach(), z is no longer tracked: nothing to backpropagate.",
            RowBlocks(modes),
        ),
        _section(
            5,
            "Tensor gradients and Jacobian products",
            "backward(v) adds v^T J into .grad on every call: gradients accumulate until zeroed.",
            code_block(report.accumulation.code),
            Text(),
            *accumulation_view(report.accumulation),
        ),
    )
