"""`autograd-cli why NAME`: why a variable's .grad is what it is."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import typer

from autograd_cli.cli.app import Json, Output, Seed, app, emit_result, handled, spelled, view_of
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
from autograd_cli.errors import UsageError


@app.command()
@handled
def why(
    # Named `variable`: the batch runner maps a job's keys to parameter names.
    variable: Annotated[
        str | None,
        typer.Argument(help="The variable to explain (w, b, z, ...).", show_default=False),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Explain every variable.")] = False,
    root: Annotated[
        str | None,
        typer.Option(
            "--root",
            help="The lesson's result backward starts from: loss (default) or z; not with --expr.",
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
    """Say why a variable's .grad is what it is, and point at the code to blame."""
    from autograd_cli.inspection.why import explain

    if (variable is None) == (not every):
        raise UsageError(
            "give one variable or --all"
            if variable is None
            else "give a variable or --all, not both",
            "for example: autograd-cli why w",
        )
    options = ComputationOptions(
        expr, var, wrt, lesson, dtype, max_elements, seed, ProgramOptions(file, code, trust)
    )
    computation = options.build(root, rerun=vector is not None)
    v = options.evaluate(computation, vector)
    records = [  # an explanation may name a parameter (the vector): as its option here
        replace(record, explanation=spelled(record.explanation))
        for record in explain(computation, None if every else [variable or ""], v)
    ]

    def doc() -> dict[str, Any]:
        if every:
            return {"seed": seed, "variables": records}
        from autograd_cli.render.json import data

        return {"seed": seed, **data(records[0])}

    emit_result("why", json, output, doc, view_of("why:why_view", records))
