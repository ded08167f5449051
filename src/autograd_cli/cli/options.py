"""The options that pick a computation, shared by every command that inspects one.

Without `--expr` a command works on the lesson network; with it, on the expression and its
`--var` definitions. Commands declare these options by type and hand them to
`build_computation`, so each option means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from autograd_cli.cli.app import report
from autograd_cli.errors import UsageError

if TYPE_CHECKING:
    import torch

    from autograd_cli.build.computation import Computation

PANEL = "Expression"
DEFAULT_MAX_ELEMENTS = 10_000_000  # as autograd_cli.expr.evaluate, without importing it


class DtypeName(StrEnum):
    float32 = "float32"
    float64 = "float64"


Expr = Annotated[
    str | None,
    typer.Option(
        "--expr",
        metavar="EXPR",
        help="A PyTorch-like expression, e.g. 'sum(sin(x) * w)'; without it, the lesson network.",
        rich_help_panel=PANEL,
    ),
]
Var = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        metavar="NAME=EXPR",
        help="Define a variable, e.g. --var w=randn(5,3); repeatable, later ones may use earlier.",
        rich_help_panel=PANEL,
    ),
]
Wrt = Annotated[
    list[str] | None,
    typer.Option(
        "--wrt",
        metavar="NAME",
        help="A variable that requires grad (repeatable); default: every floating-point leaf.",
        rich_help_panel=PANEL,
    ),
]
Lesson = Annotated[
    bool,
    typer.Option(
        "--lesson", help="Preload the lesson's x, y, w, b (drawn by --seed).", rich_help_panel=PANEL
    ),
]
Dtype = Annotated[
    DtypeName,
    typer.Option("--dtype", help="The dtype of every float constructor.", rich_help_panel=PANEL),
]
MaxElements = Annotated[
    int | None,
    typer.Option(
        "--max-elements",
        min=1,
        help="The most elements any one tensor may have (checked before allocating); "
        f"default {DEFAULT_MAX_ELEMENTS:,}.",
        rich_help_panel=PANEL,
    ),
]

Vector = Annotated[
    str | None,
    typer.Option(
        "--vector",
        metavar="EXPR",
        help="v for a non-scalar result's backward(v), e.g. 'ones_like(result)'.",
        rich_help_panel=PANEL,
    ),
]


def build_computation(
    *,
    expr: str | None,
    var: list[str] | None,
    wrt: list[str] | None,
    lesson: bool,
    dtype: DtypeName,
    max_elements: int | None,
    seed: int,
    root: str = "loss",
    default: Callable[[], Computation] | None = None,
) -> Computation:
    """The expression with `--expr`; without it, what `default` builds (by default the lesson
    network, with `root` as its result).

    Warnings found while building (inf or nan) go to stderr here, once.
    """
    if expr is None:
        for given, option in (
            (var, "--var"),
            (wrt, "--wrt"),
            (lesson, "--lesson"),
            (max_elements is not None, "--max-elements"),
        ):
            if given:
                raise UsageError(f"{option} needs --expr", _EXPR_EXAMPLE)
        if dtype is not DtypeName.float32:
            raise UsageError("--dtype applies to --expr; the lesson network is float32")
        if default is not None:
            return default()
        from autograd_cli.build.computation import lesson_computation

        return lesson_computation(seed, root)
    if root != "loss":
        raise UsageError(
            f"--root {root} picks a tensor of the lesson network, but --expr is given",
            "with --expr the result is the root; name parts of it with --var",
        )
    from autograd_cli.build.expression import expression_computation

    computation = expression_computation(
        expr,
        var or [],
        wrt or [],
        lesson=lesson,
        dtype=dtype.value,
        seed=seed,
        max_elements=_max_elements(max_elements),
    )
    for warning in computation.warnings:
        report(warning, "warning")
    return computation


def evaluate_option(
    computation: Computation,
    text: str,
    *,
    dtype: DtypeName,
    seed: int,
    max_elements: int | None,
) -> torch.Tensor:
    """Another expression over the computation's tensors and `result` (for `--vector`)."""
    from autograd_cli.build.expression import evaluate_text

    scope = {**computation.named, "result": computation.result}
    return evaluate_text(
        text, scope, dtype=dtype.value, seed=seed, max_elements=_max_elements(max_elements)
    )


def _max_elements(given: int | None) -> int:
    return DEFAULT_MAX_ELEMENTS if given is None else given


def vector_option(
    computation: Computation,
    text: str | None,
    *,
    required: bool,
    dtype: DtypeName,
    seed: int,
    max_elements: int | None,
) -> torch.Tensor | None:
    """`--vector` evaluated and checked against the result, with `grad`'s words on a mismatch.

    `required`: refuse a non-scalar result without `--vector` as `grad` does (the lesson's
    own examples, without `--expr`, back-propagate ones and need no vector).
    """
    if text is None and not required:
        return None
    from autograd_cli.inspection.grads import backward_vector

    vector = None
    if text is not None:
        vector = evaluate_option(
            computation, text, dtype=dtype, seed=seed, max_elements=max_elements
        )
    return backward_vector(computation.result, vector)


_EXPR_EXAMPLE = "for example --lesson --expr 'binary_cross_entropy_with_logits(x@w+b, y)'"
