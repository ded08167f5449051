"""What every builder hands to the inspection layer: a result and its named tensors.

The lesson network and a parsed expression both become a `Computation`, so each command
(graph, grad, modes, accumulate, ...) is written once and works on either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autograd_cli.build.lesson import LESSON_SOURCE, build_lesson, forward, lesson_loss
from autograd_cli.build.sources import SourceMap
from autograd_cli.defaults import OP_WORK
from autograd_cli.errors import CliWarning, UsageError, param

if TYPE_CHECKING:
    import torch

    from autograd_cli.program.run import ProgramRun

#: Recompute the result from the given leaves (same names as `Computation.tensors`),
#: under whatever grad mode the caller has set: for Jacobians, gradcheck and grad modes.
Rebuild = Callable[[Mapping[str, "torch.Tensor"]], "torch.Tensor"]


@dataclass
class Computation:
    result: torch.Tensor
    result_name: str  # "loss" for the lesson, "result" for an expression
    tensors: dict[str, torch.Tensor]  # named leaves and intermediates, in definition order
    rebuild: Rebuild
    source: dict[str, str] = field(default_factory=dict)  # name -> the code that made it
    warnings: list[CliWarning] = field(default_factory=list)  # inf/nan found while building
    sources: SourceMap | None = None  # the code that made each grad_fn node, when recorded
    program: ProgramRun | None = None  # the run whose final state this is, for a program
    #: Non-leaves whose retain_grad() autograd-cli called (plain PyTorch leaves their .grad
    #: None): every view that shows their gradient says so.
    retained: set[str] = field(default_factory=set)
    work: float | None = None  # one evaluation's element operations (see Evaluator)

    @property
    def named(self) -> dict[str, torch.Tensor]:
        """Every name a renderer may label, the result included."""
        return {**self.tensors, self.result_name: self.result}

    @property
    def cost(self) -> float:
        """What one more evaluation costs, in element operations: as the evaluator counted
        it, else a call and each element of every named tensor."""
        if self.work is not None:
            return self.work
        return sum(OP_WORK + t.numel() for t in self.named.values())

    @property
    def wrt(self) -> list[str]:
        """The leaves that require grad: what backward fills."""
        return [n for n, t in self.tensors.items() if t.is_leaf and t.requires_grad]


def lesson_computation(seed: int, root: str = "loss", size: int | None = None) -> Computation:
    """The lesson network as a Computation whose result is `root` (`loss` or `z`).

    `size` scales it to `size` inputs and outputs (w: (size, size)) for benchmarks.
    """
    if root not in ("loss", "z"):
        raise UsageError(f"unknown {param('root')} {root!r}", "choose loss or z")
    sources = SourceMap()
    net = (
        build_lesson(seed, sources)
        if size is None
        else build_lesson(seed, sources, features=size, outputs=size)
    )
    named = net.named()
    tensors = {name: t for name, t in named.items() if name != root}

    def rebuild(leaves: Mapping[str, torch.Tensor]) -> torch.Tensor:
        get = {**tensors, **leaves}.__getitem__
        z = forward(get("x"), get("w"), get("b"))
        return z if root == "z" else lesson_loss(z, get("y"))

    if root == "z":
        tensors.pop("loss")
    # x @ w dominates: a multiply-add per element of w, and a call per named tensor.
    work = OP_WORK * len(named) + sum(t.numel() for t in named.values()) + net.w.numel()
    return Computation(
        named[root], root, tensors, rebuild, dict(LESSON_SOURCE), sources=sources, work=work
    )
