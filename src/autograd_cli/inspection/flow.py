"""Gradient flow: run backward once with a hook on every node and keep what passed through.

Each node's hook (`torch.autograd.graph.Node.register_hook`) sees `grad_outputs`, the
gradient with respect to what the node's forward op produced (what `retain_grad()` would
store), and `grad_inputs`, what it passes on along each of its edges. Both are reduced to a
`GradRecord` at once, so no gradient tensor outlives the hook.

Backward runs as `torch.autograd.grad(root, leaves, retain_graph=True)`: the leaves'
`.grad` stay as they were and the graph stays usable. The leaves' gradients come back as
its result, which is what their `AccumulateGrad` nodes would have added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autograd_cli.errors import UsageError
from autograd_cli.inspection.graph import short_name
from autograd_cli.records import GradRecord

if TYPE_CHECKING:
    import torch

#: (node id, edge position) -> the gradient that node passed on along that edge.
EdgeGrads = dict[tuple[int, int], GradRecord]


def grad_record(grad: torch.Tensor) -> GradRecord:
    import torch

    g = grad.detach()
    if g.is_sparse:
        g = g.to_dense()
    if g.is_complex():
        g = g.abs()
    shape = tuple(g.shape)
    if g.numel() == 0:
        return GradRecord(shape, 0.0, 0.0, 0.0, nan=False, inf=False)
    return GradRecord(
        shape,
        norm=float(torch.linalg.vector_norm(g)),
        min=float(g.min()),
        max=float(g.max()),
        nan=bool(g.isnan().any()),
        inf=bool(g.isinf().any()),
    )


def gradient_flow(
    root: torch.Tensor, order: Sequence[Any]
) -> tuple[list[GradRecord | None], EdgeGrads]:
    """Per node (in `order`) the gradient at its output; per edge what flowed along it."""
    import torch

    at_node: list[GradRecord | None] = [None] * len(order)
    on_edge: EdgeGrads = {}

    def hook(node_id: int) -> Any:
        def on_backward(
            grad_inputs: tuple[torch.Tensor | None, ...],
            grad_outputs: tuple[torch.Tensor | None, ...],
        ) -> None:
            if grad_outputs and grad_outputs[0] is not None:
                at_node[node_id] = grad_record(grad_outputs[0])
            for position, grad in enumerate(grad_inputs):
                if grad is not None:
                    on_edge[node_id, position] = grad_record(grad)

        return on_backward

    leaves: list[torch.Tensor] = []
    leaf_ids: list[int] = []
    handles = []
    for node_id, node in enumerate(order):
        if short_name(node) == "AccumulateGrad":
            leaves.append(node.variable)
            leaf_ids.append(node_id)
        else:
            handles.append(node.register_hook(hook(node_id)))
    if not leaves:
        raise UsageError("no leaf in this graph requires grad: there is no gradient to follow")
    try:
        leaf_grads = torch.autograd.grad(
            root, leaves, torch.ones_like(root), retain_graph=True, allow_unused=True
        )
    except RuntimeError as error:
        raise UsageError(f"backward failed: {_plain(error)}", _hint(error)) from None
    finally:
        for handle in handles:
            handle.remove()
    for node_id, grad in zip(leaf_ids, leaf_grads, strict=True):
        if grad is not None:
            at_node[node_id] = grad_record(grad)
    return at_node, on_edge


def _plain(error: RuntimeError) -> str:
    return str(error).split("\n", 1)[0].split(". ", 1)[0]


def _hint(error: RuntimeError) -> str | None:
    if "freed" in str(error) or "second time" in str(error):
        return "the graph's saved tensors were freed by an earlier backward(); build it again"
    return None
