"""Which piece of source created each `grad_fn` node.

Torch does not remember where a node came from, so we watch the computation as it runs:
right after each step (a line of the lesson, an operator of an expression) every node
reachable from its output that no earlier step claimed was made by this step. Steps run
bottom-up, so inner operands are claimed first and each step gets exactly its own nodes,
including helpers torch adds (the `SqueezeBackward4` of a 1-D `matmul`). Each node is
walked once over the whole computation, so recording costs the size of the graph.

Two kinds of step leave no node behind, yet explain a missing gradient later (`why`): a
cut (`detach()`, `no_grad`, `inference_mode`), recorded with the tensors that went in, and
an in-place change, recorded with the version it left its tensor at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autograd_cli.records.source import Source
from autograd_cli.walk import walk

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class PathCut:
    """Where the graph was cut on purpose: `output` has no path back to `inputs`."""

    kind: str  # "detach", "no_grad" or "inference_mode"
    source: Source
    output: torch.Tensor
    inputs: tuple[torch.Tensor, ...]  # the tensors that required grad going in


@dataclass(frozen=True)
class InPlaceChange:
    """An in-place operation (`add_`, ...): it left `tensor` at version `version`."""

    source: Source
    tensor: torch.Tensor
    version: int


def grad_fn_of(tensor: torch.Tensor) -> Any:
    """`tensor.grad_fn`, or None where torch forbids reading it.

    A view made under `no_grad` whose base then changed in place cannot be read: torch
    raises on its `.grad_fn`, its `.is_leaf` and any use of it under grad mode. A program
    that never uses it again is still valid (`nn.Embedding(n, d, padding_idx=0)` makes one
    as it zeroes its padding row), so watching the program must not be what touches it.
    """
    try:
        return tensor.grad_fn
    except RuntimeError:
        return None


def readable(tensor: torch.Tensor) -> bool:
    """Whether torch lets anyone read the tensor's `grad_fn` (see `grad_fn_of`)."""
    try:
        tensor.grad_fn  # noqa: B018 - reading it is the test
    except RuntimeError:
        return False
    return True


def version_of(tensor: torch.Tensor) -> int | None:
    """The tensor's version counter, or None for an inference tensor, which has none
    (torch raises on reading `_version` of a tensor made under `inference_mode`)."""
    return None if tensor.is_inference() else tensor._version


def node_key(node: Any) -> tuple[int, int]:
    """A node's identity that does not keep it alive (nodes take no weak references).

    Torch numbers every node it creates on a thread (`_sequence_nr`), except AccumulateGrad,
    whose number is the same for all: that one is known by its leaf. Holding the nodes
    themselves would keep every graph of a long program alive after the program let go.
    """
    variable = getattr(node, "variable", None)
    if variable is not None:
        return (1, id(variable))
    return (0, node._sequence_nr())


class SourceMap:
    def __init__(self) -> None:
        self._by_node: dict[tuple[int, int], Source] = {}
        self._leaves: dict[int, Source] = {}  # id(leaf tensor) -> where it was defined
        self.cuts: list[PathCut] = []
        self._cut_at: dict[int, int] = {}  # id(source) -> its cut's index (`cut_at`)
        self.changes: list[InPlaceChange] = []  # in the order they ran

    def define_leaf(self, leaf: torch.Tensor, source: Source) -> None:
        """A leaf's `AccumulateGrad` belongs to the leaf's definition, not its first use."""
        self._leaves[id(leaf)] = source

    def record(self, output: torch.Tensor, source: Source) -> list[Any]:
        """Claim for `source` every node reachable from `output` not claimed before; return
        them, in the order they were claimed (the output's own node first)."""
        claimed: list[Any] = []
        start = grad_fn_of(output)
        if start is None or node_key(start) in self._by_node:  # no new node: no walk
            return claimed
        for node, _ in walk(start, key=node_key, known=self._by_node):
            variable = getattr(node, "variable", None)
            self._by_node[node_key(node)] = (
                self._leaves.get(id(variable), source) if variable is not None else source
            )
            claimed.append(node)
        return claimed

    def cut(
        self, kind: str, output: torch.Tensor, source: Source, inputs: tuple[torch.Tensor, ...]
    ) -> None:
        """`output` was made by `detach()` or under `no_grad`/`inference_mode` from `inputs`."""
        tracked = tuple(t for t in inputs if t.requires_grad)
        self.cuts.append(PathCut(kind, source, output, tracked))

    def cut_at(
        self, kind: str, output: torch.Tensor, source: Source, inputs: tuple[torch.Tensor, ...]
    ) -> None:
        """`cut`, keeping only the latest cut made by the code `source` (the same object
        each time the code runs), so an op run in a loop under `no_grad` keeps one output
        alive, not one per iteration."""
        index = self._cut_at.setdefault(id(source), len(self.cuts))
        self.cut(kind, output, source, inputs)
        if index < len(self.cuts) - 1:  # the code cut before: its new cut takes the old place
            self.cuts[index] = self.cuts.pop()

    def changed(self, tensor: torch.Tensor, source: Source) -> None:
        """Right after an in-place operation on `tensor`: its version, and the node it made.
        An inference tensor has no version and is never saved for backward: not a change
        that can make a saved tensor stale."""
        version = version_of(tensor)
        if version is not None:
            self.changes.append(InPlaceChange(source, tensor, version))
        self.record(tensor, source)

    def get(self, node: Any) -> Source | None:
        return self._by_node.get(node_key(node))

    def leaf(self, tensor: torch.Tensor) -> Source | None:
        """Where a leaf was defined (`define_leaf`), whether it requires grad or not."""
        return self._leaves.get(id(tensor))
