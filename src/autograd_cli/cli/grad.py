"""`autograd-cli grad`: every gradient of the lesson network or of an expression."""

from __future__ import annotations

from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Seed, app, handled, out, out_json, report
from autograd_cli.cli.options import (
    DEFAULT_MAX_ELEMENTS,
    Dtype,
    DtypeName,
    Expr,
    Lesson,
    MaxElements,
    Var,
    Vector,
    Wrt,
    build_computation,
    evaluate_option,
)
from autograd_cli.errors import CheckFailed


@app.command()
@handled
def grad(
    expr: Expr = None,
    var: Var = None,
    wrt: Wrt = None,
    lesson: Lesson = False,
    vector: Vector = None,
    jacobian: Annotated[
        bool, typer.Option("--jacobian", help="Show the full Jacobian and that v^T J = .grad.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Compare with finite differences (gradcheck); exit 1 on a mismatch."
        ),
    ] = False,
    hessian: Annotated[
        bool, typer.Option("--hessian", help="Second derivatives of a scalar result.")
    ] = False,
    dtype: Dtype = DtypeName.float32,
    max_elements: MaxElements = DEFAULT_MAX_ELEMENTS,
    seed: Seed = 0,
    json: Json = False,
) -> None:
    """Backpropagate and show every gradient: the lesson's w.grad and b.grad, or --expr's."""
    from autograd_cli.inspection.grads import inspect_grads

    computation = build_computation(
        expr=expr,
        var=var,
        wrt=wrt,
        lesson=lesson,
        dtype=dtype,
        max_elements=max_elements,
        seed=seed,
    )
    v = None
    if vector is not None:
        v = evaluate_option(computation, vector, dtype=dtype, seed=seed, max_elements=max_elements)
    result = inspect_grads(
        computation, v, vector, jacobian=jacobian, check=check, hessian=hessian, full=json
    )
    for warning in result.warnings:
        report(warning, "warning")
    if json:
        from autograd_cli.render.grads import grad_doc
        from autograd_cli.render.json import document

        out_json(document("grad", seed=seed, **grad_doc(result)))
    else:
        from autograd_cli.render.grads import grad_view

        out(grad_view(result))
    if result.check_failed:
        raise CheckFailed(
            f"gradcheck failed for {', '.join(result.check_failed)}: autograd's gradient "
            "differs from finite differences",
            "a backward function is wrong (or the function is not smooth at this point)",
        )
