"""`autograd-cli graph`: the grad_fn graph."""

from __future__ import annotations

from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Seed, app, handled, out, out_json


@app.command()
@handled
def graph(
    root: Annotated[
        str, typer.Option("--root", help="Which tensor's graph to show: loss or z.")
    ] = "loss",
    seed: Seed = 0,
    json: Json = False,
) -> None:
    """Show the grad_fn graph of the lesson's loss as a tree."""
    from autograd_cli.build.computation import lesson_computation
    from autograd_cli.inspection.graph import trace

    computation = lesson_computation(seed, root)
    record = trace(computation.result, computation.named)
    if json:
        from autograd_cli.render.json import document, graph_doc

        out_json(document("graph", seed=seed, **graph_doc(record)))
    else:
        from autograd_cli.render.tree import graph_tree

        out(graph_tree(record))
