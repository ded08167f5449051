"""Gradient flow: run backward once with hooks on every node and keep what passed through.

Each node's hook (`torch.autograd.graph.Node.register_hook`) sees `grad_outputs`, the
gradient with respect to what the node's forward op produced (what `retain_grad()` would
store), and `grad_inputs`, what it passes on along each of its edges. Both are reduced to a
`GradRecord` at once, so no gradient tensor outlives the hook.

`graph --grads` runs backward as `torch.autograd.grad(root, leaves, retain_graph=True)`: the
leaves' `.grad` stay as they were and the graph stays usable; the leaves' gradients come
back as its result, which is what their `AccumulateGrad` nodes would have added.
`backward` runs the real `backward()` and also hooks each node before it runs
(`register_prehook`): the order in which those fire is the engine's order of steps (what
`TORCH_LOGS=+autograd` logs), and a node whose prehook fired but not its hook is where
backward stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autograd_cli.errors import UsageError, backward_error
from autograd_cli.inspection.graph import short_name
from autograd_cli.records.backward import Anomaly, StepRecord
from autograd_cli.records.grads import GradRecord

if TYPE_CHECKING:
    import torch

#: (node id, edge position) -> the gradient that node passed on along that edge.
EdgeGrads = dict[tuple[int, int], GradRecord]

#: Gradients with at most this many elements keep their values (when asked for).
SMALL_GRAD = 16


def grad_record(grad: torch.Tensor, *, with_values: bool = False) -> GradRecord:
    """Shape, norm and extremes; every value too when asked and there are few."""
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
        values=g.tolist() if with_values and g.numel() <= SMALL_GRAD else None,
    )


@dataclass
class Flow:
    """What one watched backward saw: per node, per edge, and (if asked) step by step.

    `at_node` holds the gradient at each node's (first) output; `at_outputs` every output's,
    for the nodes whose forward op made more than one.
    """

    at_node: list[GradRecord | None]
    on_edge: EdgeGrads
    at_outputs: dict[int, tuple[GradRecord | None, ...]] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    anomaly: Anomaly | None = None


class _Stop(Exception):
    """Raised from a hook to end backward at the first NaN or inf."""


class _Watch:
    """The hooks on every node and what they saw; node ids are positions in `order`."""

    def __init__(self, size: int, *, steps: bool, with_values: bool, stop: bool) -> None:
        self.flow = Flow([None] * size, {})
        self.steps = steps
        self.with_values = with_values
        self.stop = stop
        self.started: list[tuple[int, tuple[GradRecord | None, ...]]] = []  # firing order
        self.received: dict[int, tuple[GradRecord | None, ...]] = {}  # node id -> received
        self.finished: dict[int, tuple[GradRecord | None, ...]] = {}  # node id -> passed

    def _records(self, grads: Sequence[torch.Tensor | None]) -> tuple[GradRecord | None, ...]:
        return tuple(
            None if g is None else grad_record(g, with_values=self.with_values) for g in grads
        )

    def prehook(self, node_id: int) -> Any:
        def before(grad_outputs: tuple[torch.Tensor | None, ...]) -> None:
            received = self.received[node_id] = self._records(grad_outputs)
            self.started.append((node_id, received))

        return before

    def hook(self, node_id: int) -> Any:
        def after(
            grad_inputs: tuple[torch.Tensor | None, ...],
            grad_outputs: tuple[torch.Tensor | None, ...],
        ) -> None:
            flow = self.flow
            # the prehook's records, when there is one
            received = self.received.get(node_id) or self._records(grad_outputs)
            if received:
                flow.at_node[node_id] = received[0]
            if len(received) > 1:
                flow.at_outputs[node_id] = received
            passed = self._records(grad_inputs)
            for position, grad in enumerate(passed):
                if grad is not None:
                    flow.on_edge[node_id, position] = grad
            if self.steps:
                self.finished[node_id] = passed
            if self.stop:
                bad = tuple(p for p, g in enumerate(passed) if g is not None and not g.finite)
                if bad:
                    flow.anomaly = Anomaly(
                        step=len(self.started),
                        node=node_id,
                        positions=bad,
                        nan=any(g.nan for g in passed if g is not None),
                        inf=any(g.inf for g in passed if g is not None),
                    )
                    raise _Stop

        return after

    def result(self) -> Flow:
        self.flow.steps = [
            StepRecord(step, node_id, received, self.finished.get(node_id))
            for step, (node_id, received) in enumerate(self.started, start=1)
        ]
        return self.flow


def watch_backward(
    root: torch.Tensor,
    order: Sequence[Any],
    gradient: torch.Tensor | None = None,
    *,
    accumulate: bool,
    steps: bool = False,
    with_values: bool = False,
    stop_at_anomaly: bool = False,
    retain_graph: bool = True,
) -> Flow:
    """Run backward from `root` (seeded with `gradient`, default ones) with every node hooked.

    `accumulate`: the real `backward()`, which runs each leaf's `AccumulateGrad` and adds to
    its `.grad`; otherwise `autograd.grad`, which leaves `.grad` alone. `steps`: also record
    each node as it starts (prehooks), in the engine's order. `stop_at_anomaly`: end backward
    at the first node that passes on NaN or inf. `retain_graph`: keep the saved tensors
    (the default, so the graph can be inspected again); a program's own call says.
    """
    import torch

    watch = _Watch(len(order), steps=steps, with_values=with_values, stop=stop_at_anomaly)
    leaves: list[torch.Tensor] = []
    leaf_ids: list[int] = []
    handles = []
    for node_id, node in enumerate(order):
        if short_name(node) == "AccumulateGrad" and not accumulate:
            leaves.append(node.variable)
            leaf_ids.append(node_id)
            continue
        handles.append(node.register_hook(watch.hook(node_id)))
        if steps:
            handles.append(node.register_prehook(watch.prehook(node_id)))
    if not accumulate and not leaves:
        raise UsageError("no leaf in this graph requires grad: there is no gradient to follow")
    if gradient is None and root.dim() != 0:
        gradient = torch.ones_like(root)  # as `root.sum()` would seed it
    # A scalar root goes without an explicit 1: given a tensor, torch checks its shape
    # symbolically, and importing that machinery (sympy) costs more than the lesson's backward.
    try:
        if accumulate:
            torch.autograd.backward(root, gradient, retain_graph=retain_graph)
        else:
            leaf_grads = torch.autograd.grad(
                root, leaves, gradient, retain_graph=True, allow_unused=True
            )
            for node_id, grad in zip(leaf_ids, leaf_grads, strict=True):
                if grad is not None:
                    watch.flow.at_node[node_id] = grad_record(grad, with_values=with_values)
    except _Stop:
        pass
    except RuntimeError as error:
        raise backward_error(error, _where(watch, order) if steps else "") from None
    finally:
        for handle in handles:
            handle.remove()
    return watch.result()


def gradient_flow(root: torch.Tensor, order: Sequence[Any]) -> Flow:
    """Per node (in `order`) the gradient at its outputs; per edge what flowed along it."""
    return watch_backward(root, order, accumulate=False)


def _where(watch: _Watch, order: Sequence[Any]) -> str:
    """` at step 3 (#2 SinBackward0)`: the node that started but did not finish."""
    if not watch.started or watch.started[-1][0] in watch.finished:
        return ""
    node_id = watch.started[-1][0]
    return f" at step {len(watch.started)} (#{node_id} {short_name(order[node_id])})"
