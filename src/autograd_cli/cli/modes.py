"""`autograd-cli modes`: the same result under every grad mode, and `--bench`."""

from __future__ import annotations

from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Seed, app, handled, out, out_json
from autograd_cli.errors import UsageError

#: The scaled network's width and the rounds `--bench` runs when not told otherwise.
BENCH_SIZE = 1024
BENCH_REPEAT = 20


@app.command()
@handled
def modes(
    freeze: Annotated[
        str | None,
        typer.Option(
            "--freeze",
            metavar="NAME",
            help="The parameter the frozen row freezes (default: w, or the first leaf "
            "that requires grad).",
        ),
    ] = None,
    bench: Annotated[
        bool,
        typer.Option(
            "--bench",
            help="Also time forward+backward with tracking against forward-only under "
            "no_grad and inference_mode.",
        ),
    ] = False,
    size: Annotated[
        int | None,
        typer.Option(
            "--size",
            min=1,
            metavar="N",
            help=f"--bench: the network's width, w: (N, N) (default {BENCH_SIZE}).",
        ),
    ] = None,
    repeat: Annotated[
        int | None,
        typer.Option(
            "--repeat",
            min=1,
            metavar="R",
            help=f"--bench: timed rounds (default {BENCH_REPEAT}).",
        ),
    ] = None,
    seed: Seed = 0,
    json: Json = False,
) -> None:
    """Compute the lesson's z under each grad mode: what autograd records and allows."""
    from autograd_cli.build.computation import lesson_computation
    from autograd_cli.inspection.modes import grad_modes

    if not bench and (size is not None or repeat is not None):
        raise UsageError("--size and --repeat only apply to --bench", "add --bench")
    report = grad_modes(lesson_computation(seed, "z"), freeze=freeze)
    timing = None
    if bench:
        from autograd_cli.inspection.bench import bench_modes

        width = size or BENCH_SIZE
        network = lesson_computation(seed, "loss", size=width)
        timing = bench_modes(network, repeat or BENCH_REPEAT, size=width)
    if json:
        from autograd_cli.render.json import document
        from autograd_cli.render.modes import bench_doc, modes_doc

        bench_field = bench_doc(timing) if timing else None
        out_json(document("modes", seed=seed, **modes_doc(report), bench=bench_field))
    else:
        from autograd_cli.render.modes import modes_renderables

        for renderable in modes_renderables(report, timing):
            out(renderable)
