"""Why a model's parameter has a gradient or none, told from what the program did.

A parameter is no variable of the program (`0.weight` is reached through `model`), so
`why` finds it by its qualified name or an attribute path from a name of the program
(`model.0.weight`). What the recorders kept while the program ran says the rest: the code
that switched `requires_grad` off, the code that set `.grad` back to None, every
`backward()` with its root and its line, and each module's first call. A module never
called, or one whose output the loss does not use, leaves its parameters out of every
graph backward ran on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autograd_cli.records.source import Source
from autograd_cli.records.why import Reason, WhyRecord

if TYPE_CHECKING:
    import torch

    from autograd_cli.inspection.modules import ModuleRecorder
    from autograd_cli.program.run import ProgramRun
    from autograd_cli.records.grads import GradRecord
    from autograd_cli.records.modules import ModuleRecord


def find_parameter(run: ProgramRun, name: str) -> tuple[torch.Tensor, ModuleRecord] | None:
    """A parameter by its qualified name (`0.weight`) or by a path from one of the
    program's names (`model.0.weight`); every module the program still names is known
    first, so a model it never called has its parameters found too."""
    import torch

    modules = run.modules
    if modules is None:
        return None
    for value in run.scope.values():
        if isinstance(value, torch.nn.Module):
            modules.register(value)
    found = modules.find_parameter(name)
    if found is not None:
        return found
    first, _, rest = name.partition(".")
    owner = run.scope.get(first)
    if rest and isinstance(owner, torch.nn.Module):
        tensor = dict(owner.named_parameters()).get(rest)
        module = modules.module_of(tensor) if tensor is not None else None
        if tensor is not None and module is not None:
            return tensor, module
    return None


def parameter_names(run: ProgramRun) -> list[str]:
    """Every parameter of the modules the program names, by path (`model.0.weight`)."""
    import torch

    return [
        f"{name}.{param}"
        for name, value in run.scope.items()
        if isinstance(value, torch.nn.Module)
        for param, _ in value.named_parameters()
    ]


def explain_parameter(
    run: ProgramRun,
    name: str,
    tensor: torch.Tensor,
    module: ModuleRecord,
    node: int | None,
    grad: GradRecord | None,
) -> WhyRecord:
    """One parameter's `.grad`, explained by the lines of the program that decided it.

    `node` is its `AccumulateGrad`'s id in the graph `why` walked, `grad` its gradient as
    a record (both None when it has none)."""
    assert run.modules is not None
    owner = _module_words(run, run.modules, module)
    recorder = run.recorder
    roots = recorder.backward_roots
    # the last backward whose graph holds it, looked for from the end: a training loop
    # runs one per step
    last_reached = next(
        (
            index
            for index in reversed(range(len(roots)))
            if id(tensor) in recorder.backward_reached[index]
        ),
        None,
    )
    reached = [] if last_reached is None else [last_reached]
    if tensor.grad is not None:
        by = _backward_words(run, reached[-1]) if reached else "a backward call"
        source = recorder.backward_sources[reached[-1]] if reached else None
        return WhyRecord(
            name,
            True,
            Reason.HAS_GRAD,
            f"{name} is a parameter of {owner} that requires grad, and {by} reached it: "
            f"backward filled {name}.grad.",
            source,
            node,
            grad,
        )
    if not tensor.requires_grad:
        frozen = recorder.frozen.get(id(tensor))
        if frozen is not None:
            where = frozen[1]
            return WhyRecord(
                name,
                False,
                Reason.FROZEN,
                f"{name} (of {owner}) does not require grad: {_code_words(where)} switched it "
                f"off, so backward leaves it out (frozen) and {name}.grad stays None.",
                where,
            )
        return WhyRecord(
            name,
            False,
            Reason.FROZEN,
            f"{name} (of {owner}) was made with requires_grad=False and no line of the program "
            f"switched it on, so backward leaves it out (frozen) and {name}.grad stays None.",
        )
    if not roots:
        return WhyRecord(
            name,
            False,
            Reason.NO_BACKWARD,
            f"{name} (of {owner}) requires grad, but the program never calls backward(): "
            f"nothing fills {name}.grad, so it stays None.",
        )
    if reached:
        cleared = recorder.cleared.get(id(tensor))
        by = _backward_words(run, reached[-1])
        if cleared is not None:
            return WhyRecord(
                name,
                False,
                Reason.CLEARED,
                f"{by} filled {name}.grad (of {owner}), then {_code_words(cleared[1])} set it "
                "back to None.",
                cleared[1],
                node,
            )
        return WhyRecord(
            name,
            False,
            Reason.CLEARED,
            f"{by} reached {name} (of {owner}), but its .grad is None again: something the "
            "recorder did not see set it back.",
            recorder.backward_sources[reached[-1]],
            node,
        )
    last = _backward_words(run, len(roots) - 1)
    calls, called_at = run.modules.calls(module)
    if calls == 0:
        return WhyRecord(
            name,
            False,
            Reason.UNUSED,
            f"{owner} is never called, so no graph uses {name}: {last} never reached it, "
            f"and {name}.grad stays None.",
            recorder.backward_sources[-1],
        )
    ran = f" at {_code_words(called_at)}" if called_at is not None else ""
    root = _root_name(run, len(roots) - 1)
    return WhyRecord(
        name,
        False,
        Reason.UNUSED,
        f"{owner} ran{ran}, but {root} does not depend on what it made: no path in {root}'s "
        f"graph leads back to {name}, so {last} never reached it and {name}.grad stays None.",
        called_at or recorder.backward_sources[-1],
    )


def _code_words(source: Source) -> str:
    """`` `model[0].requires_grad_(False)` at line 6 ``: the whole line, as it reads."""
    text = source.code.strip()
    return f"`{text}` at line {source.line}" if source.line is not None else f"`{text}`"


def _backward_words(run: ProgramRun, index: int) -> str:
    """`backward from loss (`loss.backward()` at line 9)`."""
    root = _root_name(run, index)
    return f"backward from {root} ({_code_words(run.recorder.backward_sources[index])})"


def _root_name(run: ProgramRun, index: int) -> str:
    """The program's name for the root of its `index`-th backward; `the result` when it has
    none, or let go of it (the recorder holds roots weakly)."""
    root = run.recorder.backward_roots[index]()
    return (None if root is None else run.name_of(root)) or "the result"


def _module_words(run: ProgramRun, modules: ModuleRecorder, module: ModuleRecord) -> str:
    """`model.2 (Linear)`: the path from the program's name for its top-level module."""
    top = module
    while top.parent is not None:
        top = modules.modules[top.parent]
    root: Any = modules.module_object(top)
    named = next((n for n, v in run.scope.items() if v is root), None)
    path = ".".join(p for p in (named, module.path) if p)
    return f"{path} ({module.cls})" if path else module.label
