"""The options that pick a computation, shared by every command that inspects one.

Without input a command works on the lesson (its cells, run as the program they are); with
`--file`/`--code`, on a program; with `--expr`, on the expression and its `--var`
definitions. Commands declare these options by type and gather them in a
`ComputationOptions`, so each option means the same thing everywhere.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, overload

import typer

from autograd_cli.cli.app import spelled, warn
from autograd_cli.defaults import DEFAULT_MAX_ELEMENTS
from autograd_cli.errors import UsageError
from autograd_cli.gcpause import freeze_once
from autograd_cli.program.device import Device

if TYPE_CHECKING:
    import torch

    from autograd_cli.build.computation import Computation
    from autograd_cli.program.run import ProgramRun
    from autograd_cli.program.source import LessonPart

PANEL = "Expression"
PROGRAM_PANEL = "Program"

#: The hint for a program that needed values on the meta device.
META_HINT = (
    "--device meta keeps shapes, not values: printing a tensor, .item() and gradient "
    "figures need a real device (drop them, or run without --device meta)"
)


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


File = Annotated[
    str | None,
    typer.Option(
        "--file",
        "-f",
        metavar="FILE",
        help="A PyTorch program to run, statement by statement (- reads standard input).",
        rich_help_panel=PROGRAM_PANEL,
    ),
]
Code = Annotated[
    str | None,
    typer.Option(
        "--code",
        metavar="CODE",
        help="A PyTorch program on the command line, e.g. "
        "'x = torch.ones(3, requires_grad=True); (x * x).sum().backward()'.",
        rich_help_panel=PROGRAM_PANEL,
    ),
]
Trust = Annotated[
    bool,
    typer.Option(
        "--trust",
        help="Run --file as Python, as `python FILE` would: your own code, no whitelist, "
        "no bounds.",
        rich_help_panel=PROGRAM_PANEL,
    ),
]


DeviceOption = Annotated[
    Device,
    typer.Option(
        "--device",
        help="Where the program's tensors live: cpu, cuda, or meta (shapes and graph "
        "without values, no element bounds: models larger than RAM).",
        rich_help_panel=PROGRAM_PANEL,
    ),
]


def torch_imported() -> None:
    """Import torch before the layers that use it, and exempt what its import made from
    the garbage collector's scans (`gcpause.freeze_once`)."""
    importlib.import_module("torch")
    freeze_once()


@dataclass(frozen=True)
class ProgramOptions:
    """`--file`, `--code` and `--trust`: a PyTorch program as the input; `--device`, where
    its tensors live."""

    file: str | None = None
    code: str | None = None
    trust: bool = False
    device: Device = Device.cpu
    #: No file or code: the lesson's own cells run, this much of them (`lesson_program`).
    lesson: LessonPart | None = None

    @property
    def given(self) -> bool:
        return self.file is not None or self.code is not None

    def run(
        self,
        seed: int,
        max_elements: int | None,
        watch: tuple[int, Callable[..., Any]] | None = None,
        steps: bool = True,
    ) -> ProgramRun:
        """Read, check and run the program; a failed program is reported by the caller.
        `steps`: keep the timeline's entries (only the views that show them need them)."""
        if self.file is not None and self.code is not None:
            raise UsageError(
                "give --file or --code, not both",
                "--file FILE reads a program from a file (- for standard input), --code from "
                "the command line",
            )
        if self.trust and self.file in (None, "-"):
            raise UsageError(
                "--trust runs a file of yours as Python; --code and standard input are "
                "never trusted",
                "save the program to a file and give --file FILE --trust",
            )
        if not self.given and self.lesson is None:
            raise UsageError("--trust needs --file FILE")
        torch_imported()
        from autograd_cli.inspection.modules import ModuleRecorder
        from autograd_cli.program.device import check_device, default_device
        from autograd_cli.program.interpreter import Limits
        from autograd_cli.program.run import run_program
        from autograd_cli.program.source import lesson_program, read_program

        check_device(self.device)
        program = (
            read_program(self.file, self.code)
            if self.given
            else lesson_program(self.lesson or "all")
        )
        limits = Limits() if max_elements is None else Limits(max_elements=max_elements)
        if self.device is Device.meta:  # nothing is allocated: element bounds do not apply
            limits = Limits(max_elements=sys.maxsize, max_total_elements=sys.maxsize)
        with ModuleRecorder() as modules, default_device(self.device):
            run = run_program(
                program, seed=seed, limits=limits, trusted=self.trust, watch=watch, steps=steps
            )
        run.modules = modules
        for warning in run.warnings:
            warn(warning)
        if run.error is not None and self.device is Device.meta and run.error.hint is None:
            run.error.hint = META_HINT
        failure = run.timeline.failure
        if failure is not None:  # the program's words name options, as the CLI spells them
            run.timeline.failure = replace(
                failure,
                message=spelled(failure.message),
                hint=None if failure.hint is None else spelled(failure.hint),
            )
        return run


@dataclass(frozen=True)
class ComputationOptions:
    """The seven options that pick a computation, as one command line gave them.

    Typer needs each option in each command's signature; the command gathers them here
    once, and every command builds and evaluates the same way.
    """

    expr: str | None
    var: list[str] | None
    wrt: list[str] | None
    lesson: bool
    dtype: DtypeName
    max_elements: int | None  # None: not given (DEFAULT_MAX_ELEMENTS)
    seed: int
    program: ProgramOptions = ProgramOptions()

    @property
    def runs_program(self) -> bool:
        """A program runs: the one given, or the lesson's cells when no input is given."""
        return self.program.given or self.program.trust or self.expr is None

    def build(
        self,
        root: str | None = None,
        default: Callable[[], Computation] | None = None,
        *,
        rerun: bool = False,
        lesson: LessonPart = "backward",
    ) -> Computation:
        """The program, or the expression with `--expr`; without either, what `default`
        builds, or the lesson: its cells up to `lesson` run as the program they are, with
        `root` as the result (loss unless `--root` was given).

        `rerun`: the command evaluates the computation again (a `--vector`, finite
        differences, a Jacobian), which a program run cannot give yet: the lesson is then
        its network built in Python (`build.lesson`), the same tensors for the same seed.
        Warnings found while building (inf or nan) go to stderr here, once. A program
        runs whole; a failed one is this command's failure (exit 1).
        """
        if self.program.given or self.program.trust:
            return self._ran(root, lesson)
        if self.expr is None:
            self._refuse_expr_options()
            if not rerun and default is None:
                return self._ran(root or "loss", lesson)
            torch_imported()
            if default is not None:
                return default()
            from autograd_cli.build.computation import lesson_computation

            return lesson_computation(self.seed, root or "loss")
        if root is not None:
            raise UsageError(
                f"--root {root} picks a tensor of the lesson network, but --expr is given",
                "with --expr the result is the root; name parts of it with --var",
            )
        from autograd_cli.build.expression import expression_computation

        # it reads the text before it imports torch: a hostile one never loads it
        computation = expression_computation(
            self.expr,
            self.var or [],
            self.wrt or [],
            lesson=self.lesson,
            dtype=self.dtype.value,
            seed=self.seed,
            max_elements=self._max_elements,
        )
        freeze_once()
        for warning in computation.warnings:
            warn(warning)
        return computation

    def _ran(self, root: str | None, lesson: LessonPart) -> Computation:
        run = self.run_program(lesson=lesson, steps=False)  # the timeline is not shown
        if run.error is not None:
            raise run.error
        return run.computation(root)

    def run_program(
        self,
        watch: tuple[int, Callable[..., Any]] | None = None,
        steps: bool = True,
        lesson: LessonPart = "backward",
    ) -> ProgramRun:
        """The program (the lesson's cells up to `lesson` when none is given), once the
        options that belong to `--expr` are known to be absent."""
        if not (self.program.given or self.program.trust):
            self._refuse_expr_options()
            return replace(self.program, lesson=lesson).run(self.seed, None, watch, steps)
        for given, option in (
            (self.expr is not None, "--expr"),
            (self.var, "--var"),
            (self.wrt, "--wrt"),
            (self.lesson, "--lesson"),
            (self.dtype is not DtypeName.float32, "--dtype"),
        ):
            if given:
                raise UsageError(
                    f"{option} belongs to --expr, and a program is given",
                    "say it in the program: x = torch.randn(3, requires_grad=True, "
                    "dtype=torch.float64)",
                )
        return self.program.run(self.seed, self.max_elements, watch, steps)

    def _refuse_expr_options(self) -> None:
        """No input is given: the options that shape `--expr` have nothing to shape."""
        for given, option in (
            (self.var, "--var"),
            (self.wrt, "--wrt"),
            (self.lesson, "--lesson"),
            (self.max_elements is not None, "--max-elements"),
        ):
            if given:
                raise UsageError(f"{option} needs --expr", _EXPR_EXAMPLE)
        if self.dtype is not DtypeName.float32:
            raise UsageError("--dtype applies to --expr; the lesson network is float32")

    @overload
    def evaluate(self, computation: Computation, text: str) -> torch.Tensor: ...
    @overload
    def evaluate(self, computation: Computation, text: None) -> None: ...

    def evaluate(self, computation: Computation, text: str | None) -> torch.Tensor | None:
        """Another expression over the computation's tensors and `result` (`--vector`,
        `--expect`), drawn and bounded as the computation was; None for no text."""
        if text is None:
            return None
        from autograd_cli.build.expression import evaluate_text

        scope = {**computation.named, "result": computation.result}
        return evaluate_text(
            text,
            scope,
            dtype=self.dtype.value,
            seed=self.seed,
            max_elements=self._max_elements,
        )

    def vector(
        self, computation: Computation, text: str | None, *, required: bool
    ) -> torch.Tensor | None:
        """`--vector` evaluated and checked against the result, with `grad`'s words on a
        mismatch.

        `required`: refuse a non-scalar result without `--vector` as `grad` does (the
        lesson's own examples, without `--expr`, back-propagate ones and need no vector).
        """
        if text is None and not required:
            return None
        from autograd_cli.inspection.grads import backward_vector, refuse_integers_only

        refuse_integers_only(computation)

        return backward_vector(computation.result, self.evaluate(computation, text))

    @property
    def _max_elements(self) -> int:
        return DEFAULT_MAX_ELEMENTS if self.max_elements is None else self.max_elements


_EXPR_EXAMPLE = "for example --lesson --expr 'binary_cross_entropy_with_logits(x@w+b, y)'"
