"""Which piece of source created each `grad_fn` node.

Torch does not remember where a node came from, so we watch the computation as it runs:
right after each step (a line of the lesson, an operator of an expression) every node
reachable from its output that no earlier step claimed was made by this step. Steps run
bottom-up, so inner operands are claimed first and each step gets exactly its own nodes,
including helpers torch adds (the `SqueezeBackward4` of a 1-D `matmul`). Each node is
walked once over the whole computation, so recording costs the size of the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autograd_cli.records import Source

if TYPE_CHECKING:
    import torch


class SourceMap:
    def __init__(self) -> None:
        self._by_node: dict[Any, Source] = {}
        self._leaves: dict[int, Source] = {}  # id(leaf tensor) -> where it was defined

    def define_leaf(self, leaf: torch.Tensor, source: Source) -> None:
        """A leaf's `AccumulateGrad` belongs to the leaf's definition, not its first use."""
        self._leaves[id(leaf)] = source

    def record(self, output: torch.Tensor, source: Source) -> None:
        """Claim for `source` every node reachable from `output` not claimed before."""
        start = output.grad_fn
        if start is None or start in self._by_node:
            return
        stack = [start]
        while stack:
            node = stack.pop()
            if node in self._by_node:
                continue
            variable = getattr(node, "variable", None)
            self._by_node[node] = (
                self._leaves.get(id(variable), source) if variable is not None else source
            )
            stack.extend(
                c for c, _ in node.next_functions if c is not None and c not in self._by_node
            )

    def get(self, node: Any) -> Source | None:
        return self._by_node.get(node)
