"""Run the whole lesson once and collect what each of its sections shows."""

from __future__ import annotations

from dataclasses import dataclass

from autograd_cli.build.lesson import LESSON_SOURCE, build_lesson
from autograd_cli.inspection.accumulate import AccumulationRecord, accumulate
from autograd_cli.inspection.graph import short_name, trace
from autograd_cli.inspection.modes import ModeRow, lesson_modes
from autograd_cli.inspection.tensors import tensor_record
from autograd_cli.records import GraphRecord, TensorRecord

#: The lesson's accumulation example: two calls, then `zero_()`, then a third.
ACCUMULATION_CODE = (
    "inp = torch.eye(5, requires_grad=True)",
    "out = (inp + 1).pow(2)",
    "out.backward(torch.ones_like(inp), retain_graph=True)  # 1st call",
    "out.backward(torch.ones_like(inp), retain_graph=True)  # 2nd call",
    "inp.grad.zero_()",
    "out.backward(torch.ones_like(inp), retain_graph=True)  # 3rd call",
)


@dataclass(frozen=True)
class LessonReport:
    seed: int
    source: dict[str, str]
    tensors: list[TensorRecord]  # x, y, w, b, z, loss after the forward pass
    grad_fns: dict[str, str]  # z and loss -> their grad_fn's name
    graph: GraphRecord  # of loss
    gradients: list[TensorRecord]  # w and b after loss.backward()
    rows_equal_b: bool  # every row of w.grad equals b.grad (x is all ones)
    modes: list[ModeRow]
    accumulation: AccumulationRecord


def lesson_accumulation() -> AccumulationRecord:
    import torch

    inp = torch.eye(5, requires_grad=True)
    out = (inp + 1).pow(2)
    return accumulate(out, inp, torch.ones_like(inp), calls=3, zero_before={3})


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
        modes=lesson_modes(net),
        accumulation=lesson_accumulation(),
    )
