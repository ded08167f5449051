"""Watch backward run: every step the engine takes, with the gradients in and out.

The graph is walked as `graph` walks it, so each step names its node by the same id, and
labelled with the code that created each node. Backward is the real `backward()`: the
leaves' `.grad` fill up as they would in a script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autograd_cli.errors import UsageError
from autograd_cli.inspection.flow import grad_record, watch_backward
from autograd_cli.inspection.grads import backward_vector
from autograd_cli.inspection.graph import traced
from autograd_cli.records.backward import BackwardRecord

if TYPE_CHECKING:
    import torch

    from autograd_cli.build.computation import Computation


def run_backward(
    computation: Computation,
    gradient: torch.Tensor | None = None,
    *,
    detect_anomaly: bool = False,
    retain_graph: bool = True,
) -> BackwardRecord:
    """Run `result.backward(gradient)` step by step (`gradient` may be None for a scalar).

    `detect_anomaly` stops at the first node that passes on NaN or inf. torch's own
    `detect_anomaly` checks only for NaN and answers with a Python traceback of the
    forward pass; the hooks see both, and the source map already knows the code.
    """
    import torch

    result = computation.result
    vector = backward_vector(result, gradient)
    graph, (order, _) = traced(result, computation.named, sources=computation.sources)
    seed = torch.ones_like(result) if vector is None else vector
    start = grad_record(seed, with_values=True)
    if detect_anomaly and not start.finite:
        raise UsageError("the gradient backward starts from already holds NaN or inf")
    flow = watch_backward(
        result,
        order,
        vector,
        accumulate=True,
        steps=True,
        with_values=True,
        stop_at_anomaly=detect_anomaly,
        retain_graph=retain_graph,
    )
    for node, grad in zip(graph.nodes, flow.at_node, strict=True):
        node.grad = grad
    for edge in graph.edges:
        edge.grad = flow.on_edge.get((edge.src, edge.position))
    return BackwardRecord(graph, computation.result_name, start, flow.steps, flow.anomaly)
