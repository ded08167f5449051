"""Each grad_fn node is attributed to the code that created it."""

from __future__ import annotations

from typing import Any

import torch

from autograd_cli.build.lesson import LESSON_SOURCE, build_lesson
from autograd_cli.build.sources import SourceMap
from autograd_cli.records import Source


def _walk(root: torch.Tensor) -> list[Any]:
    nodes, stack, seen = [], [root.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        stack.extend(child for child, _ in node.next_functions)
    return nodes


def test_lesson_nodes_map_to_their_lines() -> None:
    sources = SourceMap()
    net = build_lesson(0, sources)
    made_by = {}
    for node in _walk(net.loss):
        source = sources.get(node)
        assert source is not None
        name = node.name().rsplit("::", 1)[-1]
        if name == "AccumulateGrad":
            name += "(" + ("w" if node.variable is net.w else "b") + ")"
        made_by[name] = source.text
    assert made_by == {
        "BinaryCrossEntropyWithLogitsBackward0": LESSON_SOURCE["loss"],
        "AddBackward0": LESSON_SOURCE["z"],
        "SqueezeBackward4": LESSON_SOURCE["z"],  # torch's helper for the 1-D matmul
        "MmBackward0": LESSON_SOURCE["z"],
        "AccumulateGrad(w)": LESSON_SOURCE["w"],
        "AccumulateGrad(b)": LESSON_SOURCE["b"],
    }


def test_steps_claim_only_their_own_nodes() -> None:
    code = "sin(a * b) + a"
    a = torch.ones(2, requires_grad=True)
    sources = SourceMap()
    sources.define_leaf(a, Source("a = ones(2)"))
    product = a * 3.0
    sources.record(product, Source(code, 4, 9))
    sine = product.sin()
    sources.record(sine, Source(code, 0, 10))
    total = sine + a
    sources.record(total, Source(code, 0, 14))
    assert total.grad_fn is not None and product.grad_fn is not None
    assert sources.get(total.grad_fn) == Source(code, 0, 14)
    assert sources.get(product.grad_fn) == Source(code, 4, 9)
    assert sources.get(product.grad_fn).text == "a * b"  # type: ignore[union-attr]
    accumulate = product.grad_fn.next_functions[0][0]
    assert sources.get(accumulate) == Source("a = ones(2)")
