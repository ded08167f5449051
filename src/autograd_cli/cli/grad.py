"""`autograd-cli grad`: every gradient of the lesson network or of an expression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from autograd_cli.cli.app import Json, Output, Seed, app, emit_result, handled, warn
from autograd_cli.cli.options import (
    META_HINT,
    Code,
    ComputationOptions,
    DeviceOption,
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
from autograd_cli.defaults import EXPECT_ATOL, EXPECT_RTOL
from autograd_cli.errors import CheckFailed, CliWarning, UsageError
from autograd_cli.program.device import Device
from autograd_cli.records.modules import Thresholds, judged

if TYPE_CHECKING:
    import torch
    from rich.console import RenderableType

    from autograd_cli.build.computation import Computation
    from autograd_cli.records.modules import ModelRecord
    from autograd_cli.records.reports import GradReport

MODEL_PANEL = "Models"


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
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            metavar="NAME=EXPR",
            help="Your formula for NAME's gradient, e.g. --expect 'x=2*x'; exit 1 if it differs.",
        ),
    ] = None,
    rtol: Annotated[
        float | None,
        typer.Option(
            "--rtol", min=0.0, help=f"Relative tolerance of --expect (default {EXPECT_RTOL:g})."
        ),
    ] = None,
    atol: Annotated[
        float | None,
        typer.Option(
            "--atol", min=0.0, help=f"Absolute tolerance of --expect (default {EXPECT_ATOL:g})."
        ),
    ] = None,
    dtype: Dtype = DtypeName.float32,
    max_elements: MaxElements = None,
    file: File = None,
    code: Code = None,
    trust: Trust = False,
    seed: Seed = 0,
    json: Json = False,
    output: Output = None,
    device: DeviceOption = Device.cpu,
    vanishing: Annotated[
        float,
        typer.Option(
            "--vanishing",
            min=0.0,
            help="A model's parameter whose gradient norm is at most this is flagged vanishing.",
            rich_help_panel=MODEL_PANEL,
        ),
    ] = Thresholds.vanishing,
    exploding: Annotated[
        float,
        typer.Option(
            "--exploding",
            min=0.0,
            help="A model's parameter whose gradient norm is above this is flagged exploding.",
            rich_help_panel=MODEL_PANEL,
        ),
    ] = Thresholds.exploding,
    dead: Annotated[
        float,
        typer.Option(
            "--dead",
            min=0.0,
            max=1.0,
            help="Flag dead units when at least this share of a weight's gradient rows are "
            "all zero.",
            rich_help_panel=MODEL_PANEL,
        ),
    ] = Thresholds.dead,
) -> None:
    """Backpropagate and show every gradient: the lesson's w.grad and b.grad, or --expr's.

    A program's model also gets one row per parameter, with health flags.
    """
    from autograd_cli.inspection.grads import inspect_grads
    from autograd_cli.render.json import data

    if not expect and (rtol is not None or atol is not None):
        given = "--rtol" if rtol is not None else "--atol"
        raise UsageError(
            f"{given} tunes --expect only, and no --expect is given",
            "add --expect NAME=EXPR, or drop it",
        )
    program = ProgramOptions(file, code, trust, device)
    if device is Device.meta:
        raise UsageError(
            "grad shows gradient values, and --device meta keeps shapes only", META_HINT
        )
    options = ComputationOptions(expr, var, wrt, lesson, dtype, max_elements, seed, program)
    if program.given:
        _refuse_for_programs(vector=vector, jacobian=jacobian, check=check, hessian=hessian)
    computation = options.build(rerun=bool(vector or jacobian or check or hessian))
    ran = computation.program is not None  # a program ran its own backward
    v = None if ran else options.evaluate(computation, vector)
    # Every formula is read before backward runs: a bad one fails before any output.
    expected = _expectations(expect or [], computation, options, ran)
    notes: list[CliWarning] = []
    result = inspect_grads(
        computation,
        v,
        vector,
        jacobian=jacobian,
        check=check,
        hessian=hessian,
        ran=ran,
        notes=notes,
    )
    if expected:
        from autograd_cli.inspection.expect import compare_expected

        result.expect = compare_expected(
            computation,
            expected,
            rtol=EXPECT_RTOL if rtol is None else rtol,
            atol=EXPECT_ATOL if atol is None else atol,
        )
    for note in notes:
        warn(note)
    limits = Thresholds(vanishing, exploding, dead)
    modules = computation.program.modules if computation.program is not None else None
    model = modules.model()[1] if modules is not None and modules.modules else None
    if model is not None:
        result.parameters = judged(model.parameters, limits)
        result.thresholds = limits
        result.optimizer_steps = model.optimizer_steps
    emit_result(
        "grad",
        json,
        output,
        lambda: {"seed": seed, **data(result)},
        lambda: _view(result, model, limits),
    )
    failed = []
    if result.check_failed:
        failed.append(
            f"gradcheck failed for {', '.join(result.check_failed)}: autograd's gradient "
            "differs from finite differences"
        )
    if result.expect_failed:
        failed.append(
            f"--expect failed for {', '.join(result.expect_failed)}: autograd's gradient "
            "differs from your formula"
        )
    if failed:
        raise CheckFailed(
            "; ".join(failed),
            "a backward function or a formula is wrong (or the function is not smooth here)",
            failures=[
                *(c for c in result.check or [] if not c.passed),
                *(e for e in result.expect or [] if not e.passed),
            ],
        )


def _expectations(
    texts: list[str], computation: Computation, options: ComputationOptions, ran: bool
) -> list[tuple[str, str, torch.Tensor]]:
    """Each `--expect NAME=EXPR` read and evaluated: (name, formula, value). The modules
    that read them are imported only when one is given (a batch's first job pays for
    every import, and no worker shares that time)."""
    if not texts:
        return []
    from autograd_cli.inspection.expect import parse_expectation
    from autograd_cli.program.run import evaluate_in

    expected = []
    for text in texts:
        name, formula = parse_expectation(text, list(computation.tensors))
        value = evaluate_in(computation, formula) if ran else options.evaluate(computation, formula)
        expected.append((name, formula, value))
    return expected


def _refuse_for_programs(**given: object) -> None:
    """What `grad` cannot do cleanly on a program yet: it would re-run the program's
    forward with other leaves, or pick a backward vector the program already chose."""
    for name, value in given.items():
        if value:
            option = f"--{name}"
            raise UsageError(
                f"{option} works on --expr and the lesson, not on a program",
                "a program's backward calls are its own: pass the gradient to backward() "
                "in the program"
                if name == "vector"
                else f"write the function as --expr to use {option}",
            )


def _view(report: GradReport, model: ModelRecord | None, limits: Thresholds) -> RenderableType:
    """The gradients, then a model's health table (its modules are imported, with Rich,
    only when the view is shown)."""
    from autograd_cli.render.grads import grad_view

    view = grad_view(report)
    if model is None or not model.parameters:
        return view
    from rich.console import Group
    from rich.text import Text

    from autograd_cli.render.module_view import health_view

    heading = Text("gradient health, per parameter", style="bold")
    parts: list[RenderableType] = [view, Text(), heading, health_view(model, limits)]
    missing = [p.name for p in model.parameters if p.grad_norm is None and p.missing != "meta"]
    if missing:
        parts.append(
            Text(
                f"why a parameter has no gradient, by the program's lines: autograd-cli why "
                f"{missing[0]} (with the same program options)",
                style="dim",
            )
        )
    return Group(*parts)
