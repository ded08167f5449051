"""Run the whole lesson once and collect what each of its sections shows."""

from __future__ import annotations

from autograd_cli.build.accumulation import accumulation_computation
from autograd_cli.build.computation import lesson_computation
from autograd_cli.build.lesson import LESSON_SOURCE, build_lesson
from autograd_cli.inspection.accumulate import accumulate
from autograd_cli.inspection.graph import short_name, trace
from autograd_cli.inspection.modes import LESSON_MODES, grad_modes
from autograd_cli.inspection.tensors import tensor_record
from autograd_cli.records.reports import AccumulationPlan, LessonReport


def run_lesson(seed: int) -> LessonReport:
    import torch

    net = build_lesson(seed)
    named = net.named()
    tensors = [tensor_record(name, t) for name, t in named.items()]
    grad_fns = {name: short_name(t.grad_fn) for name, t in named.items() if t.grad_fn}
    graph = trace(net.loss, named)
    net.loss.backward()
    assert net.w.grad is not None and net.b.grad is not None
    rows_equal_b = bool(torch.equal(net.w.grad, net.b.grad.expand_as(net.w.grad)))
    return LessonReport(
        seed=seed,
        source=dict(LESSON_SOURCE),
        tensors=tensors,
        grad_fns=grad_fns,
        graph=graph,
        gradients=[tensor_record("w", net.w), tensor_record("b", net.b)],
        rows_equal_b=rows_equal_b,
        modes=grad_modes(lesson_computation(seed, "z"), LESSON_MODES).rows,
        # The lesson's example: two calls, then `zero_()`, then a third.
        accumulation=accumulate(accumulation_computation(), AccumulationPlan(2, zero_after=2)),
    )
