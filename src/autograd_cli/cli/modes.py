"""`autograd-cli modes`: the same result under every grad mode, and `--bench`."""

from __future__ import annotations

from math import isqrt
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
from autograd_cli.defaults import DEFAULT_MAX_ELEMENTS
from autograd_cli.errors import UsageError

#: The scaled network's width and the rounds `--bench` runs when not told otherwise.
BENCH_SIZE = 1024
BENCH_REPEAT = 20
#: The most timed rounds: enough for a stable median, short of a run that never ends.
BENCH_MAX_REPEAT = 10_000
#: The widest network whose w, (N, N), stays within the default --max-elements.
BENCH_MAX_SIZE = isqrt(DEFAULT_MAX_ELEMENTS)


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
            help=f"--bench: the lesson network's width, w: (N, N) (default {BENCH_SIZE}, "
            f"at most {BENCH_MAX_SIZE}); "
            "with --expr the bench times the expression as it is.",
        ),
    ] = None,
    repeat: Annotated[
        int | None,
        typer.Option(
            "--repeat",
            min=1,
            max=BENCH_MAX_REPEAT,
            metavar="R",
            help=f"--bench: timed rounds (default {BENCH_REPEAT}, at most {BENCH_MAX_REPEAT:,}).",
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
    """Compute a result under each grad mode: what autograd records and what it allows.

    The lesson's z or --expr's result; --bench times tracking against no_grad and inference_mode.
    """
    from functools import partial

    from autograd_cli.build.computation import lesson_computation
    from autograd_cli.inspection.modes import grad_modes
    from autograd_cli.render.json import data

    if not bench and (size is not None or repeat is not None):
        raise UsageError("--size and --repeat only apply to --bench", "add --bench")
    if expr is not None and size is not None:
        raise UsageError(
            "--size scales the lesson network; with --expr the bench times the expression",
            "drop --size, or give the expression larger tensors",
        )
    if size is not None and size * size > DEFAULT_MAX_ELEMENTS:
        raise UsageError(
            f"--size {size}: w would have {size * size:,} elements, more than the "
            f"{DEFAULT_MAX_ELEMENTS:,} any one tensor may have",
            f"choose N from 1 to {BENCH_MAX_SIZE}",
        )
    program = ProgramOptions(file, code, trust)
    if program.given:
        raise UsageError(
            "modes re-runs one computation seven ways (no_grad, detach, inference_mode, ...); "
            "a program runs once, as written",
            "write the grad modes into the program and run `autograd-cli step`, or give the "
            "computation as --expr",
        )
    options = ComputationOptions(expr, var, wrt, lesson, dtype, max_elements, seed, program)
    computation = options.build(default=partial(lesson_computation, seed, "z"))
    v = options.vector(computation, vector, required=expr is not None)
    report = grad_modes(computation, vector=v, vector_code=vector, freeze=freeze)
    timing = None
    if bench:
        from autograd_cli.inspection.bench import bench_modes
        from autograd_cli.inspection.cost import check_work

        rounds = repeat or BENCH_REPEAT
        if expr is None:
            width = size or BENCH_SIZE
            network = lesson_computation(seed, "loss", size=width)
            # each round: a tracked forward and backward, and two untracked forwards
            check_work("modes --bench --repeat", 3 * rounds, 3 * network.cost)
            timing = bench_modes(network, rounds, size=width)
        else:
            check_work("modes --bench --repeat", 3 * rounds, 3 * computation.cost)
            timing = bench_modes(computation, rounds)
    emit_result(
        "modes",
        json,
        output,
        lambda: {"seed": seed, **data(report), "bench": timing},
        view_of("modes:modes_output", report, timing),
    )
