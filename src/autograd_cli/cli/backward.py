"""`autograd-cli backward`: watch backward run, step by step."""

from __future__ import annotations

from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Seed, app, handled, out, out_json
from autograd_cli.errors import CheckFailed


@app.command()
@handled
def backward(
    root: Annotated[
        str, typer.Option("--root", help="Where backward starts: loss or z (seeded with ones).")
    ] = "loss",
    detect_anomaly: Annotated[
        bool,
        typer.Option(
            "--detect-anomaly",
            help="Stop at the first node that passes on NaN or inf, and name it (exit 1).",
        ),
    ] = False,
    seed: Seed = 0,
    json: Json = False,
) -> None:
    """Run backward on the lesson's loss and show each step the engine takes, in order."""
    from autograd_cli.build.computation import lesson_computation
    from autograd_cli.inspection.backward import run_backward

    record = run_backward(lesson_computation(seed, root), detect_anomaly=detect_anomaly)
    if json:
        from autograd_cli.render.backward import backward_doc
        from autograd_cli.render.json import document

        out_json(document("backward", seed=seed, **backward_doc(record)))
    else:
        from autograd_cli.render.backward import backward_view

        out(backward_view(record))
    anomaly = record.anomaly
    if anomaly is not None:
        node = record.graph.nodes[anomaly.node]
        where = f" (from {node.source.text})" if node.source is not None else ""
        raise CheckFailed(
            f"NaN or inf in backward at step {anomaly.step}: #{node.id} {node.name}{where}"
        )
