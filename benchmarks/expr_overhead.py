"""What the safe expression language costs over writing the torch code by hand.

Every op runs on the meta device first (the bounds check) and its result is scanned for
inf/nan, so an expression is slower than the same torch code; this prints by how much,
for the lesson network (tiny tensors: per-op overhead) and for a million-element tensor
(per-element overhead). Run: PYTHONPATH=src python benchmarks/expr_overhead.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from autograd_cli.build.expression import expression_computation
from autograd_cli.build.lesson import build_lesson, forward, lesson_loss
from autograd_cli.expr.parser import parse

LESSON_EXPR = "binary_cross_entropy_with_logits(x@w+b, y)"
BIG_EXPR = "sum(sin(x) * x + x ** 2 / 3)"


def median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm up: first calls pay for torch's lazy initialisation
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def big_by_hand() -> torch.Tensor:
    x = torch.randn(1_000_000, generator=torch.Generator().manual_seed(0), requires_grad=True)
    return torch.sum(torch.sin(x) * x + x**2 / 3)


def rebuild_rows() -> tuple[float, float]:
    """gradcheck's inner loop: the computation again from new leaves, shapes known."""
    computation = expression_computation(LESSON_EXPR, lesson=True)
    leaves = {n: computation.tensors[n].detach() for n in ("w", "b")}
    net = build_lesson(0)
    return (
        median_ms(lambda: computation.rebuild(leaves), 200),
        median_ms(lambda: lesson_loss(forward(net.x, leaves["w"], leaves["b"]), net.y), 200),
    )


def main() -> None:
    torch.set_num_threads(1)  # thread wake-ups on a busy 2-core machine swamp the medians
    rows: list[tuple[str, float, float | None]] = [
        ("parse only", median_ms(lambda: parse(LESSON_EXPR, "xywb"), 200), None),
        (
            "lesson: --lesson --expr",
            median_ms(lambda: expression_computation(LESSON_EXPR, lesson=True), 100),
            median_ms(lambda: build_lesson(0).loss, 100),
        ),
        (
            "1e6 elements: --expr",
            median_ms(lambda: expression_computation(BIG_EXPR, ["x=randn(1000000)"]), 15),
            median_ms(big_by_hand, 15),
        ),
        ("lesson: rebuild(leaves)", *rebuild_rows()),
    ]
    print(f"{'case':<26}{'expression ms':>15}{'torch ms':>12}{'ratio':>8}")
    for name, ours, baseline in rows:
        base = f"{baseline:12.3f}{ours / baseline:8.2f}" if baseline else f"{'-':>12}{'-':>8}"
        print(f"{name:<26}{ours:15.3f}{base}")


if __name__ == "__main__":
    main()
