"""`autograd-cli accumulate`: repeated backward calls add up in `.grad`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Output, Seed, app, emit_result, handled, option_name, view_of
from autograd_cli.cli.options import (
    Code,
    ComputationOptions,
    Dtype,
    DtypeName,
    Expr,
    File,
    Lesson,
    MaxElements,
    ProgramOptions,
    Trust,
    Var,
    Vector,
    Wrt,
)
from autograd_cli.errors import CheckFailed, UsageError

#: Runs this long get a progress bar on stderr (when it is a terminal).
PROGRESS_FROM = 1000


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A transient Rich bar on stderr, or None where it would only be noise: Rich is
    loaded only for a terminal (a --json run through a pipe never loads it)."""
    terminal = sys.stderr.isatty() or bool(os.environ.get("FORCE_COLOR"))  # as Rich judges
    if total < PROGRESS_FROM or not terminal:
        yield None
        return
    from rich.progress import Progress

    from autograd_cli.render.console import console

    with Progress(console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("backward calls", total=total)
        yield lambda done: bar.update(task, completed=done)


@app.command()
@handled
def accumulate(
    ctx: typer.Context,
    times: Annotated[
        int, typer.Option("--times", min=1, metavar="N", help="Backward calls before zero_().")
    ] = 2,
    zero_after: Annotated[
        int | None,
        typer.Option(
            "--zero-after",
            min=1,
            metavar="K",
            help="Call .grad.zero_() after call K instead of after call N (one more call "
            "follows either way).",
        ),
    ] = None,
    no_zero: Annotated[
        bool, typer.Option("--no-zero", help="Never zero: exactly N calls.")
    ] = False,
    no_retain: Annotated[
        bool,
        typer.Option(
            "--no-retain",
            help="Call backward without retain_graph, and show how the second call fails.",
        ),
    ] = False,
    every: Annotated[
        int | None,
        typer.Option(
            "--every",
            min=1,
            metavar="K",
            help="Keep only every K-th call (with the first, the one after zero_() and the "
            "last) in the view and the JSON.",
        ),
    ] = None,
    leaf: Annotated[
        str | None,
        typer.Option(
            "--leaf",
            metavar="NAME",
            help="The leaf whose .grad to watch (default: the first that requires grad).",
        ),
    ] = None,
    expr: Expr = None,
    var: Var = None,
    wrt: Wrt = None,
    lesson: Lesson = False,
    vector: Vector = None,
    dtype: Dtype = DtypeName.float32,
    max_elements: MaxElements = None,
    file: File = None,
    code: Code = None,
    trust: Trust = False,
    seed: Seed = 0,
    json: Json = False,
    output: Output = None,
) -> None:
    """Call backward N times and watch a leaf's .grad add up: k calls give k times one call's.

    On the lesson's (inp + 1).pow(2), or on --expr's result.
    """
    program = ProgramOptions(file, code, trust)
    if program.given:
        _program_ledger(
            ctx,
            ComputationOptions(expr, var, wrt, lesson, dtype, max_elements, seed, program),
            leaf,
            json,
            output,
        )
        return
    from autograd_cli.build.accumulation import accumulation_computation
    from autograd_cli.inspection.accumulate import accumulate as run_plan
    from autograd_cli.inspection.accumulate import check_plan
    from autograd_cli.inspection.cost import check_work
    from autograd_cli.records.reports import AccumulationPlan
    from autograd_cli.render.json import data

    if no_zero and zero_after is not None:
        raise UsageError("--zero-after and --no-zero contradict each other", "pick one")
    plan = AccumulationPlan(
        times, None if no_zero else (zero_after or times), retain_graph=not no_retain
    )
    check_plan(plan)
    options = ComputationOptions(
        expr, var, wrt, lesson, dtype, max_elements, seed, ProgramOptions(file, code, trust)
    )
    computation = options.build(default=accumulation_computation)
    v = options.vector(computation, vector, required=expr is not None)
    check_work("accumulate --times", plan.total, computation.cost)
    with _progress(plan.total) as progress:
        record = run_plan(
            computation,
            plan,
            leaf=leaf,
            vector=v,
            vector_code=vector,
            every=every,
            progress=progress,
        )
    emit_result(
        "accumulate",
        json,
        output,
        lambda: data(record),
        # the view shows a glimpse of a long run, unless --every chose the calls to show
        view_of("accumulate:accumulate_view", record, glimpse=every is None),
    )
    if not record.law_holds:
        raise CheckFailed(
            f"the k-times law failed at call {record.law_failure}",
            "the gradient of one call changed between calls: is the computation random?",
        )


#: What plans the calls `accumulate` makes; a program makes its own.
_PLAN_OPTIONS = ("times", "zero_after", "no_zero", "no_retain", "every", "vector")


def _program_ledger(
    ctx: typer.Context,
    options: ComputationOptions,
    leaf: str | None,
    json: bool,
    output: Path | None,
) -> None:
    """The program's own backward calls as the ledger; the k-times rule only where one
    backward statement is repeated unchanged, and never a failure of the program."""
    from autograd_cli.program.ledger import ledger
    from autograd_cli.render.json import data

    for name in _PLAN_OPTIONS:
        source = ctx.get_parameter_source(name)  # Typer's vendored click: compare by name
        if source is not None and source.name != "DEFAULT":
            raise UsageError(
                f"{option_name(name)} plans the calls of --expr and the lesson; "
                "a program makes its own",
                "change the program's backward calls instead",
            )
    run = options.run_program()
    if run.error is not None:
        raise run.error
    record = ledger(run.timeline, run.recorder.backward_calls, leaf)
    emit_result(
        "accumulate", json, output, lambda: data(record), view_of("ledger:ledger_view", record)
    )
