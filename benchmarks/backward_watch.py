"""What watching backward costs: `backward` (hooks before and after every node) and `why`
against a bare `loss.backward()` on the same graph, measured in one run.

Two graphs: a deep chain (`y = y * 1.01`, n times: one node a step) and a small MLP
(a few large matmuls: the hooks are few, the gradients big). Each timing builds the graph
afresh (not timed) and runs once; the median of `--repeat` runs is printed, with its ratio
to the bare backward.

    python benchmarks/backward_watch.py [--sizes 1000 10000] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from autograd_cli.build.computation import Computation
from autograd_cli.inspection.backward import run_backward
from autograd_cli.inspection.why import explain


def chain(n: int) -> Computation:
    x = torch.ones(4, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.01
    loss = y.sum()
    return Computation(loss, "loss", {"x": x}, lambda leaves: loss)


def mlp(width: int) -> Computation:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, width, generator=gen)
    weights = {f"w{i}": torch.randn(width, width, generator=gen).requires_grad_() for i in range(4)}
    h = x
    for w in weights.values():
        h = torch.tanh(h @ w)
    loss = h.pow(2).mean()
    return Computation(loss, "loss", dict(weights), lambda leaves: loss)


def bare(c: Computation) -> None:
    c.result.backward()


def watched(c: Computation) -> None:
    run_backward(c)


def why_all(c: Computation) -> None:
    explain(c)


def median_time(
    build: Callable[[], Computation], run: Callable[[Computation], None], n: int
) -> float:
    times = []
    for _ in range(n):
        computation = build()
        start = time.perf_counter()
        run(computation)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases: list[tuple[str, Callable[[], Computation]]] = []
    for n in args.sizes:
        cases.append((f"chain {n:,}", lambda n=n: chain(n)))  # type: ignore[misc]
    cases.append(("mlp 4 x 512", lambda: mlp(512)))
    print(f"{'graph':<16}{'run':<12}{'median s':>10}{'vs bare':>9}")
    for label, build in cases:
        baseline = median_time(build, bare, args.repeat)
        for name, run in (("bare", bare), ("backward", watched), ("why --all", why_all)):
            seconds = baseline if run is bare else median_time(build, run, args.repeat)
            print(f"{label:<16}{name:<12}{seconds:>10.4f}{seconds / baseline:>8.1f}x")


if __name__ == "__main__":
    main()
