"""`autograd-cli backward`: watch backward run, step by step."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Output, Seed, app, emit_result, handled, view_of
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


@app.command()
@handled
def backward(
    root: Annotated[
        str | None,
        typer.Option(
            "--root",
            help="Where the lesson's backward starts: loss (default) or z; not with --expr.",
        ),
    ] = None,
    expr: Expr = None,
    var: Var = None,
    wrt: Wrt = None,
    lesson: Lesson = False,
    vector: Vector = None,
    detect_anomaly: Annotated[
        bool,
        typer.Option(
            "--detect-anomaly",
            help="Stop at the first node that passes on NaN or inf, and name it (exit 1).",
        ),
    ] = False,
    dtype: Dtype = DtypeName.float32,
    max_elements: MaxElements = None,
    file: File = None,
    code: Code = None,
    trust: Trust = False,
    seed: Seed = 0,
    json: Json = False,
    output: Output = None,
) -> None:
    """Run backward and show each step the engine takes, in order, with its gradients."""
    from autograd_cli.inspection.backward import run_backward
    from autograd_cli.render.json import data

    options = ComputationOptions(
        expr, var, wrt, lesson, dtype, max_elements, seed, ProgramOptions(file, code, trust)
    )
    if options.program.given and vector is not None:
        raise UsageError(
            "--vector works on --expr and the lesson; a program passes its own gradient",
            "pass it to backward() in the program: out.backward(torch.ones_like(out))",
        )
    if options.runs_program and vector is None:
        from autograd_cli.program.run import watch_last_backward

        run_again = partial(options.run_program, steps=False)  # the timeline is not shown
        _, record = watch_last_backward(run_again, root, detect_anomaly=detect_anomaly)
    else:
        computation = options.build(root, rerun=True)
        v = options.evaluate(computation, vector)
        record = run_backward(computation, v, detect_anomaly=detect_anomaly)
    emit_result(
        "backward",
        json,
        output,
        lambda: {"seed": seed, **data(record)},
        view_of("backward:backward_view", record),
    )
    anomaly = record.anomaly
    if anomaly is not None:
        node = record.graph.nodes[anomaly.node]
        message = f"NaN or inf in backward at step {anomaly.step}: #{node.id} {node.name}"
        source = node.source
        if source is None or source.start is None or source.end is None:
            where = f" (from {source.text})" if source is not None else ""
            raise CheckFailed(message + where)
        raise CheckFailed(
            message + ", made by the part of the code marked below",
            source=source.code,
            span=(source.start, source.end),
        )
