"""Gradient accumulation: `.grad` after each backward call, and the k-times law.

`lesson` shows `accumulation_view` as its last section; `accumulate` adds the code it ran
and a summary around it.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from autograd_cli.records.reports import AccumulationCall, AccumulationRecord
from autograd_cli.render.blocks import code_block, fact, failure_text
from autograd_cli.render.tables import matrix_table

LAW = "after k calls since the last zero_(), the gradient is k times the first call's"

#: A short run is shown whole; a longer one by its first calls, the reset and the last.
SHOW_ALL = 8
SHOW_FIRST = 3


def _glimpse(record: AccumulationRecord) -> list[AccumulationCall]:
    """A short run whole; else the first calls, the calls either side of `zero_()`, the last."""
    plan = record.plan
    if plan.total <= SHOW_ALL:
        return record.calls
    return [
        c
        for c in record.calls
        if c.call <= SHOW_FIRST
        or c.call == plan.zero_after
        or plan.zeroes_before(c.call)
        or c.call == plan.total
    ]


def accumulation_view(
    record: AccumulationRecord, calls: list[AccumulationCall] | None = None
) -> list[RenderableType]:
    """The calls (by default every kept one) as matrices, a gap line where calls were left
    out, then the law."""
    body: list[RenderableType] = []
    shown = 0
    for call in record.calls if calls is None else calls:
        if call.call > shown + 1:
            body.append(Text(f"⋮ calls {shown + 1} to {call.call - 1} not shown", style="dim"))
            body.append(Text())
        note = ", after zero_()" if call.zeroed_before else ""
        title = f"{record.leaf}.grad after call {call.call}{note}"
        body.append(matrix_table(call.grad, title=title))
        body.append(Text())
        shown = call.call
    if record.failure is not None:
        body.append(failure_text(record.failure, f"call {record.failed_call}: "))
        body.append(Text())
    elif not record.plan.retain_graph and record.calls_made > 1:
        body.append(
            Text(
                "Every call worked without retain_graph: this graph saves no tensors for "
                "backward, so the first call had nothing to free.",
                style="italic",
            )
        )
        body.append(Text())
    if _law_untested(record):  # one call cannot show k times anything
        body.append(Text(f"not tested, with only 1 call: {LAW}", style="dim"))
        return body
    law = LAW if record.law_holds else f"{LAW} (fails at call {record.law_failure})"
    body.append(fact(record.law_holds, law))
    return body


def _law_untested(record: AccumulationRecord) -> bool:
    return record.failure is not None and record.calls_made < 2


def _summary(record: AccumulationRecord, shown: int) -> Table:
    plan = record.plan
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    made = f"{record.calls_made}"
    if record.failed_call is not None:
        made += f" of {plan.total} (call {record.failed_call} failed)"
    zeroed = "never" if plan.zero_after is None else f"after call {plan.zero_after}"
    failed = record.failed_call
    if plan.zero_after is not None and failed is not None and failed <= plan.zero_after:
        zeroed = f"not reached (planned after call {plan.zero_after})"
    table.add_row("backward calls", made)
    table.add_row("zero_()", zeroed)
    table.add_row("retain_graph", str(plan.retain_graph))
    last = record.calls[-1] if record.calls else None
    if last is not None and record.law_holds and not _law_untested(record):
        k = last.since_zero
        table.add_row(
            f"last {record.leaf}.grad",
            f"the first call's times {k} ({_calls(k)} since the last reset)",
        )
    table.add_row("shown", f"{shown} of {_calls(record.calls_made)}")
    return table


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def accumulate_view(record: AccumulationRecord, *, glimpse: bool = False) -> Group:
    """`glimpse`: a long run by a few of its calls (`glimpse`), else every kept call."""
    calls = _glimpse(record) if glimpse else record.calls
    return Group(
        code_block(record.code),
        Text(),
        *accumulation_view(record, calls),
        Text(),
        _summary(record, len(calls)),
    )
