"""`modes --bench`: what tracking costs, timed against forward passes that track nothing.

Each way runs once untimed (its saved bytes are measured then, and it warms up), then
`repeat` timed runs in a row: interleaving the ways would time each forward pass in the
wake of the previous backward's threads. Each is reported as its median and as a ratio to
the tracked forward+backward measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from autograd_cli.build.computation import Computation
from autograd_cli.inspection.modes import backward_code, measure_saved
from autograd_cli.records.reports import BenchReport, BenchRow


def bench_modes(computation: Computation, repeat: int, size: int | None = None) -> BenchReport:
    import torch

    leaves = {name: t for name, t in computation.tensors.items() if t.is_leaf}
    result = computation.result_name
    backward = backward_code(result, computation.result.dim() == 0, None)

    def forward(context: Callable[[], AbstractContextManager[object]]) -> Callable[[], None]:
        def run() -> None:
            with context():
                computation.rebuild(leaves)

        return run

    def forward_backward() -> None:
        for leaf in leaves.values():
            leaf.grad = None
        out = computation.rebuild(leaves)
        out.backward(torch.ones_like(out))

    ways = [
        ("tracked", f"{result} = ...; {backward}", forward_backward),
        ("tracked_forward", f"{result} = ...  (graph recorded, no backward)", forward(nullcontext)),
        ("no_grad", f"with torch.no_grad(): {result} = ...", forward(torch.no_grad)),
        (
            "inference_mode",
            f"with torch.inference_mode(): {result} = ...",
            forward(torch.inference_mode),
        ),
    ]
    saved: dict[str, int] = {}
    times: dict[str, list[float]] = {}
    for mode, _, run in ways:
        saved[mode] = measure_saved(run)[1]  # doubles as the warm-up
        times[mode] = []
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            times[mode].append(time.perf_counter() - start)
    medians = {mode: statistics.median(t) for mode, t in times.items()}
    baseline = ways[0][0]
    rows = [
        BenchRow(mode, code, medians[mode], medians[mode] / medians[baseline], saved[mode])
        for mode, code, _ in ways
    ]
    return BenchReport(size, repeat, baseline, rows)
