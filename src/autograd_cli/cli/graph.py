"""`autograd-cli graph`: the grad_fn graph."""

from __future__ import annotations

from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Seed, app, handled, out, out_json
from autograd_cli.cli.options import (
    DEFAULT_MAX_ELEMENTS,
    Dtype,
    DtypeName,
    Expr,
    Lesson,
    MaxElements,
    Var,
    Wrt,
    build_computation,
)


@app.command()
@handled
def graph(
    root: Annotated[
        str, typer.Option("--root", help="Which tensor's graph to show: loss or z.")
    ] = "loss",
    expr: Expr = None,
    var: Var = None,
    wrt: Wrt = None,
    lesson: Lesson = False,
    dtype: Dtype = DtypeName.float32,
    max_elements: MaxElements = DEFAULT_MAX_ELEMENTS,
    seed: Seed = 0,
    json: Json = False,
) -> None:
    """Show the grad_fn graph of the lesson's loss, or of --expr, as a tree."""
    from autograd_cli.inspection.graph import trace

    computation = build_computation(
        expr=expr,
        var=var,
        wrt=wrt,
        lesson=lesson,
        dtype=dtype,
        max_elements=max_elements,
        seed=seed,
        root=root,
    )
    record = trace(computation.result, computation.named)
    if json:
        from autograd_cli.render.json import document, graph_doc

        out_json(document("graph", seed=seed, **graph_doc(record)))
    else:
        from autograd_cli.render.tree import graph_tree

        out(graph_tree(record))
