"""Walk a `grad_fn` graph into plain records.

The walk is iterative (an explicit stack), so a graph a million nodes deep cannot hit
Python's recursion limit, and it visits each node once, so a DAG that reuses a subgraph
(`y = y + y`, repeated) costs its size, not the number of its paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autograd_cli.errors import UsageError
from autograd_cli.records import EdgeRecord, GraphRecord, NodeRecord

if TYPE_CHECKING:
    import torch


def short_name(node: Any) -> str:
    """`torch::autograd::AccumulateGrad` -> `AccumulateGrad`; Python-side names pass as is."""
    name: str = node.name()
    return name.rsplit("::", 1)[-1]


def dtype_name(dtype: torch.dtype) -> str:
    """`torch.float32` -> `float32`, the spelling `--dtype` takes."""
    return str(dtype).removeprefix("torch.")


def _output_meta(node: Any) -> tuple[tuple[int, ...] | None, str | None]:
    """Shape and dtype of the node's first forward output, as autograd recorded them."""
    meta = getattr(node, "_input_metadata", None)  # private, but torch's only record of it
    if not meta:
        return None, None
    first = meta[0]
    return tuple(first.shape), dtype_name(first.dtype)


def trace(root: torch.Tensor, names: Mapping[str, torch.Tensor] | None = None) -> GraphRecord:
    """The graph that `root.backward()` would run, labelled with `names` where they match.

    Node ids are depth-first preorder from the root, children in `next_functions` order:
    the same computation always gives the same ids (never `id()`), so output is stable.
    """
    if root.grad_fn is None:
        what = "a leaf tensor" if root.requires_grad else "a tensor that does not require grad"
        raise UsageError(
            f"the root is {what}, so it has no grad_fn graph",
            "pick a result computed from tensors that require grad",
        )
    names = names or {}
    leaf_names = {id(t): name for name, t in names.items() if t.grad_fn is None}
    node_names = {t.grad_fn: name for name, t in names.items() if t.grad_fn is not None}

    order: list[Any] = []
    ids: dict[Any, int] = {}
    kids: list[tuple[tuple[Any, int], ...]] = []
    stack = [root.grad_fn]
    while stack:
        node = stack.pop()
        if node in ids:
            continue
        ids[node] = len(order)
        order.append(node)
        nexts = node.next_functions
        kids.append(nexts)
        stack.extend(child for child, _ in reversed(nexts) if child is not None)

    nodes: list[NodeRecord] = []
    edges: list[EdgeRecord] = []
    for node_id, node in enumerate(order):
        shape, dtype = _output_meta(node)
        variable = getattr(node, "variable", None)  # only AccumulateGrad has one
        nodes.append(
            NodeRecord(
                id=node_id,
                name=short_name(node),
                shape=shape,
                dtype=dtype,
                leaf=leaf_names.get(id(variable)) if variable is not None else None,
                tensor=node_names.get(node),
            )
        )
        for position, (child, input_nr) in enumerate(kids[node_id]):
            dst = None if child is None else ids[child]
            edges.append(EdgeRecord(node_id, dst, input_nr, position))
    return GraphRecord(nodes=nodes, edges=edges)
