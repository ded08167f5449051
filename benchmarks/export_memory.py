"""Peak memory of the graph exports against the records they are made from.

Each case runs in a fresh process: build a chain (`y = y * 1.0`, n times), trace it, and
write an export to a file the way `graph --format ... -o FILE` does (streamed into a
temporary file, then renamed). Memory is the process's resident size (Linux
`/proc/self/statm`, and its peak from `resource`): the records are what `trace()` added
(the baseline), the export's cost its peak above the graph that was there before the trace.
For comparison, the old way: the whole JSON document built as one string first. Resident
size also counts what the trace held for a while (its walk) and the allocator kept, so the
records' own size is measured apart too, by `tracemalloc`, in a process of its own.
Goals (issue 15): the JSON export of a 10^6-op chain peaks at most 2x the records; the
records of 10^6 nodes well under 512 MiB (their size before the issue).

    python benchmarks/export_memory.py [--nodes 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

CASES = ("json", "dot", "mermaid", "json, one string")


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def measure(case: str, n: int) -> dict[str, float]:
    """In this process: the graph, its records, then one export written to a file."""
    import torch

    from autograd_cli.cli.app import write_output
    from autograd_cli.inspection.graph import release_graph, trace
    from autograd_cli.render.dot import dot_chunks
    from autograd_cli.render.json import graph_chunks, to_json
    from autograd_cli.render.mermaid import mermaid_chunks

    y = torch.ones(1, requires_grad=True)
    for _ in range(n - 1):
        y = y * 1.0
    graph_only = _rss()
    graph = trace(y)
    records = _rss() - graph_only
    exports: dict[str, Callable[[], str | Iterator[str]]] = {
        "json": lambda: graph_chunks(graph),
        "dot": lambda: dot_chunks(graph),
        "mermaid": lambda: mermaid_chunks(graph),
        "json, one string": lambda: to_json(graph),
    }
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_output(Path(folder) / "graph.out", exports[case]())
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - graph_only
    release_graph(y)
    return {"records": records, "peak": peak, "seconds": seconds}


def records_held(n: int) -> dict[str, float]:
    """In this process: the bytes Python holds for the records of an n-node chain, counted
    by `tracemalloc` (which slows the trace but does not change what it keeps)."""
    import gc
    import tracemalloc

    import torch

    from autograd_cli.inspection.graph import release_graph, trace

    y = torch.ones(1, requires_grad=True)
    for _ in range(n - 1):
        y = y * 1.0
    gc.collect()
    tracemalloc.start()
    graph = trace(y)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    release_graph(y)
    del graph
    return {"held": held}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    cases = (*CASES, "records held")
    parser.add_argument("--case", choices=cases, help=argparse.SUPPRESS)  # one child process
    args = parser.parse_args()
    if args.case == "records held":
        print(json.dumps(records_held(args.nodes)))
        return
    if args.case:
        print(json.dumps(measure(args.case, args.nodes)))
        return
    mib = 2**20
    print(f"chain of {args.nodes:,} nodes; resident memory above the graph itself")
    print(
        f"{'export to a file':<18} {'records MiB':>12} {'peak MiB':>9} {'/ records':>10} {'s':>6}"
    )
    ratios = {}
    for case in CASES:
        argv = [sys.executable, __file__, "--nodes", str(args.nodes), "--case", case]
        row = json.loads(subprocess.run(argv, check=True, capture_output=True).stdout)
        ratios[case] = row["peak"] / row["records"]
        print(
            f"{case:<18} {row['records'] / mib:12.1f} {row['peak'] / mib:9.1f}"
            f" {ratios[case]:9.2f}x {row['seconds']:6.1f}"
        )
    verdict = "met" if ratios["json"] <= 2 else "MISSED"
    print(f"goal: JSON export peak at most 2x the records: {ratios['json']:.2f}x, {verdict}")
    argv = [sys.executable, __file__, "--nodes", str(args.nodes), "--case", "records held"]
    held = json.loads(subprocess.run(argv, check=True, capture_output=True).stdout)["held"]
    at_million = held / args.nodes * 1_000_000 / mib
    print(
        f"records as Python holds them (tracemalloc): {held / mib:.1f} MiB,"
        f" {held / args.nodes:.0f} B a node; at 10^6 nodes {at_million:.0f} MiB,"
        f" {at_million / 512:.2f}x the 512 MiB before issue 15"
    )


if __name__ == "__main__":
    main()
