"""A long `accumulate` run: time per call and Python memory, against a bare torch loop.

    PYTHONPATH=src python benchmarks/accumulate_long_run.py [N] [ROUNDS]

Three ways to make N backward calls on the lesson's (inp + 1).pow(2):
- bare: `out.backward(v, retain_graph=True)` N times, nothing else (the baseline);
- every 100th: `accumulate --every 100`, keeping a few matrices, checking the law;
- every call: `accumulate` keeping every call's matrix (the view and `--json` alike).
Prints the median time per call over ROUNDS rounds, its ratio to the bare loop, and the
peak of Python allocations (tracemalloc) during one run.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

import torch

from autograd_cli.build.accumulation import accumulation_computation
from autograd_cli.inspection.accumulate import accumulate
from autograd_cli.records.reports import AccumulationPlan


def bare(n: int) -> None:
    computation = accumulation_computation()
    out = computation.result
    vector = torch.ones_like(out)
    for _ in range(n):
        out.backward(vector, retain_graph=True)


def inspected(n: int, every: int) -> None:
    accumulate(accumulation_computation(), AccumulationPlan(n, None), every=every)


def measure(run: Callable[[], None], n: int, rounds: int) -> tuple[float, int]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) / n)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    bare(100)  # warm-up
    ways = {
        "bare torch loop": lambda: bare(n),
        "accumulate, every 100th": lambda: inspected(n, every=100),
        "accumulate, every call": lambda: inspected(n, every=1),
    }
    results = {name: measure(run, n, rounds) for name, run in ways.items()}
    base = results["bare torch loop"][0]
    print(f"N = {n} calls, median of {rounds} rounds")
    print(f"{'way':<24}{'per call':>12}{'ratio':>8}{'Python peak':>14}")
    for name, (per_call, peak) in results.items():
        print(
            f"{name:<24}{per_call * 1e6:>9.1f} us{per_call / base:>7.2f}x{peak / 1024:>10.0f} KiB"
        )


if __name__ == "__main__":
    main()
