"""Run a program (interpreted, or a trusted file as Python) and keep what it left behind.

A run happens after `torch.manual_seed(seed)`, in this process, with the recorder
watching: the result is the program's final names, its timeline, the code behind every
graph node, and the tensors backward ran on. Every command on a program starts here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autograd_cli.build.sources import SourceMap, readable
from autograd_cli.errors import CliWarning, ProgramFailed, UsageError, param
from autograd_cli.program.interpreter import Interpreter, Limits
from autograd_cli.program.recorder import Recorder
from autograd_cli.program.source import Program, check_program, parse_program
from autograd_cli.records.timeline import ProgramFailure, Timeline

if TYPE_CHECKING:
    import torch

    from autograd_cli.build.computation import Computation
    from autograd_cli.inspection.modules import ModuleRecorder
    from autograd_cli.records.backward import BackwardRecord


@dataclass
class ProgramRun:
    """A program as it ended: its names, its timeline, and what the recorder saw."""

    program: Program
    scope: dict[str, Any]
    timeline: Timeline
    sources: SourceMap
    recorder: Recorder
    error: ProgramFailed | None = None  # the failure, as the CLI reports it
    exit_code: int = 0  # what a trusted file gave sys.exit()
    modules: ModuleRecorder | None = None  # the nn.Modules it ran, when they were recorded
    #: What the run deserves a look for, though it ran (a trusted file that took the line
    #: tracer's place); the CLI says each on stderr.
    warnings: list[CliWarning] = field(default_factory=list)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every name bound to a tensor at the end, in the order the program bound them;
        not one torch forbids reading (see `readable`): the program itself could not use it."""
        import torch

        return {n: v for n, v in self.scope.items() if isinstance(v, torch.Tensor) and readable(v)}

    def name_of(self, tensor: torch.Tensor) -> str | None:
        for name, value in self.scope.items():
            if value is tensor:
                return name
        return None

    def default_root(self) -> tuple[str, torch.Tensor]:
        """The tensor backward last ran on, else the last bound tensor with a grad_fn.
        A root the program gave no name (`y.sum().backward()`) goes by the code that made
        it (`y.sum()`), else by its node's label (`#3 SumBackward0`), as `step` calls it."""
        last = self.recorder.last_root
        if last is not None and readable(last):
            name = self.name_of(last)
            if name is not None:
                return name, last
            node = last.grad_fn
            if node is not None:
                made = self.sources.get(node)
                return (made.text if made else self.recorder.label(node)), last
        for name, tensor in reversed(list(self.tensors().items())):
            if tensor.grad_fn is not None:
                return name, tensor
        raise UsageError(
            f"{self.program.name} leaves no tensor with a grad_fn to start from",
            f"create a tensor with requires_grad=True and compute with it, or give {param('root')}",
        )

    def root(self, name: str | None) -> tuple[str, torch.Tensor]:
        from autograd_cli.expr.parser import suggestion

        if name is None:
            return self.default_root()
        tensors = self.tensors()
        if name not in tensors:
            raise UsageError(
                f"{param('root')} {name}: the program binds no tensor called {name!r}",
                suggestion(name, tensors, f"its tensors: {', '.join(tensors) or 'none'}"),
            )
        return name, tensors[name]

    def computation(self, root: str | None = None) -> Computation:
        """The program's final state as the computation the graph views inspect."""
        from autograd_cli.build.computation import Computation

        name, tensor = self.root(root)
        named = {n: t for n, t in self.tensors().items() if t is not tensor}
        source = {n: self.sources_line(t) for n, t in {**named, name: tensor}.items()}
        return Computation(
            tensor,
            name,
            named,
            _no_rebuild,
            {k: v for k, v in source.items() if v},
            sources=self.sources,
            program=self,
        )

    def sources_line(self, tensor: torch.Tensor) -> str:
        found = (
            self.sources.get(tensor.grad_fn)
            if tensor.grad_fn is not None
            else self.sources.leaf(tensor)
        )
        return found.code.strip() if found is not None else ""


def _no_rebuild(leaves: Any) -> Any:
    raise UsageError(
        "a program cannot be re-run with other leaves here",
        f"use {param('expr')} for {param('jacobian')}, {param('check')} and {param('hessian')}",
    )


def run_program(
    program: Program,
    *,
    seed: int,
    limits: Limits | None = None,
    trusted: bool = False,
    watch: tuple[int, Callable[..., Any]] | None = None,
    steps: bool = True,
) -> ProgramRun:
    """Check (unless trusted), then run after `torch.manual_seed(seed)`.

    A failure inside the program (torch's error, a failed assert) ends the run and is kept
    in the timeline and `error`; a refusal (outside the whitelist, over a bound) raises.
    `watch`: hand the n-th `backward()` call to a function instead (see `Recorder.watch`).
    `steps`: keep the timeline's entries (what `step` and `accumulate` show); without them
    the program runs the same and the recorder sees the same, but no entry is built (its
    tensor states, `.grad` numbers, each backward's engine order), as if every statement
    were in a folded loop iteration.
    """
    timeline = Timeline(program.name, seed, trusted)
    if trusted:
        from autograd_cli.program.trusted import run_trusted

        run: ProgramRun = run_trusted(program, seed, timeline, watch, steps=steps)
        return run
    tree = parse_program(program)
    checked = check_program(program, tree)
    import torch

    torch.manual_seed(seed)
    sources = SourceMap()
    scope: dict[str, Any] = {}

    def namer(tensor: torch.Tensor) -> str | None:
        for name, value in scope.items():
            if value is tensor:
                return name
        return None

    recorder = Recorder(sources, namer)
    recorder.watch = watch
    recorder.scope = scope
    interpreter = Interpreter(program, checked, recorder, timeline, limits or Limits())
    interpreter.scope = scope
    if not steps:
        interpreter.sink = None
    result = ProgramRun(program, scope, timeline, sources, recorder)
    try:
        interpreter.run(tree)  # the interpreter hands each torch call to the recorder
    except ProgramFailed as error:
        result.error = error
        timeline.failure = failure_of(program, error)
    finally:
        recorder.step = None
    return result


def failure_of(program: Program, error: ProgramFailed) -> ProgramFailure:
    """The failure as the timeline keeps it: line, message, hint, columns."""
    line_text, _, message = error.message.partition(": ")
    line = int(line_text.removeprefix("line ")) if line_text.startswith("line ") else 0
    start, end = error.span or (None, None)
    return ProgramFailure(line, program.line(line), message, error.hint, start, end)


def evaluate_in(computation: Computation, text: str) -> torch.Tensor:
    """A Python expression (`--expect 'a=9*a**2'`) over a program's final names, checked
    and interpreted as a line of the program would be, without recording a graph."""
    import ast

    import torch

    from autograd_cli.program.interpreter import Namespace
    from autograd_cli.program.source import from_text

    run = computation.program
    if run is None:
        raise UsageError("an expression in a program's scope needs a program")
    program = from_text(text, f"<{text}>")
    tree = parse_program(program)
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        raise UsageError(f"{text!r} is not one expression", "for example: 9 * a ** 2")
    checked = check_program(program, tree, known=set(run.scope))
    checked.imports.update({n: v.path for n, v in run.scope.items() if isinstance(v, Namespace)})
    interpreter = Interpreter(program, checked, run.recorder, Timeline("", 0, False), Limits())
    interpreter.scope = dict(run.scope)
    interpreter.sink = None
    with torch.no_grad(), run.recorder.pause():
        try:
            value = interpreter.evaluate(tree.body[0].value)
        except ProgramFailed as error:
            raise UsageError(error.message.removeprefix("line 1: "), error.hint) from None
    return value if isinstance(value, torch.Tensor) else torch.tensor(value)


def watch_last_backward(
    run_again: Callable[[tuple[int, Callable[..., Any]] | None], ProgramRun],
    root: str | None,
    *,
    detect_anomaly: bool,
) -> tuple[ProgramRun, BackwardRecord]:
    """`backward` on a program: the program's own last `backward()` on the root, step by
    step. A first run finds that call; a second, the same program and seed, runs it with
    every node watched (as the program asked: retain_graph or not). A root the program
    never ran backward on gets one after the program, as `backward --expr` would."""
    from autograd_cli.build.computation import Computation
    from autograd_cli.inspection.backward import run_backward

    first = run_again(None)
    if first.error is not None:
        raise first.error
    name, tensor = first.root(root)
    calls = [n for n, ref in enumerate(first.recorder.backward_roots, 1) if ref() is tensor]
    if not calls:
        return first, run_backward(first.computation(name), detect_anomaly=detect_anomaly)
    watched: list[BackwardRecord] = []

    def run(
        recorder: Recorder, root_tensor: torch.Tensor, gradient: torch.Tensor | None, retain: bool
    ) -> None:
        import torch

        named = {
            n: t
            for n, t in recorder.scope.items()
            if isinstance(t, torch.Tensor) and t is not root_tensor and readable(t)
        }
        computation = Computation(root_tensor, name, named, _no_rebuild, sources=recorder.sources)
        watched.append(
            run_backward(computation, gradient, detect_anomaly=detect_anomaly, retain_graph=retain)
        )

    second = run_again((calls[-1], run))
    if second.error is not None:
        raise second.error
    return second, watched[0]
