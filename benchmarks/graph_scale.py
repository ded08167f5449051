"""Graphs of 10^3 to 10^6 nodes: the inspector and the exports against a bare walk and torchviz.

Two shapes: a deep chain (`y = y * 1.0`, n times) and a wide fan-in (`cat` of n leaves).
For each, in one run, interleaved so that drift on a noisy machine hits all alike:
- `bare walk`: an iterative walk over `next_functions` with a seen-set (the floor);
- `inspect`: `trace()`, the records only;
- `json`, `dot`, `mermaid`: `trace()` and the whole export as a string;
- `tree (200)`: `trace()` and the terminal tree, bounded as `graph` bounds it, as text;
- `make_dot`: torchviz's, with `.source`, where torchviz (and the graphviz package it
  needs) is installed: an optional benchmark dependency, never a runtime one, skipped
  without it; at Python's default recursion limit, then (`make_dot, deep`) with the limit
  raised so it can finish a chain at all; up to `--make-dot-up-to` nodes (minutes beyond).
Goals (issue 15): inspect of a 10^5 chain within 3x the bare walk; the DOT export (trace
included) of a 30,000-leaf fan-in at least 10x faster than make_dot; the 10^6 chain done
without error (`--sizes ... 1000000`). Peak memory: `benchmarks/export_memory.py`.

    python benchmarks/graph_scale.py [--sizes 1000 30000 100000 1000000] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import io
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from rich.console import Console

from autograd_cli.inspection.graph import release_graph, trace
from autograd_cli.render.dot import to_dot
from autograd_cli.render.json import to_json
from autograd_cli.render.limits import Limits, ViewOptions, fold_for
from autograd_cli.render.mermaid import to_mermaid
from autograd_cli.render.tree import tree_view

Method = Callable[[torch.Tensor], object]


def chain(n: int) -> torch.Tensor:
    y = torch.ones(1, requires_grad=True)
    for _ in range(n - 1):  # n - 1 MulBackward0 and one AccumulateGrad: n nodes
        y = y * 1.0
    return y


def fan_in(n: int) -> torch.Tensor:
    leaves = [torch.ones(1, requires_grad=True) for _ in range(n - 1)]
    return torch.cat(leaves)  # one CatBackward0 over n - 1 AccumulateGrad: n nodes


def release(graphs: list[torch.Tensor]) -> None:
    """Free a graph root first, one node at a time (`release_graph`), then drop it. Dropping
    a 10^6-deep chain in one go overflows the C stack inside torch (a segfault in libc10:
    its node destructors recurse)."""
    release_graph(graphs[0])
    graphs.clear()


def bare_walk(root: torch.Tensor) -> int:
    seen = set()
    stack: list[Any] = [root.grad_fn]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return len(seen)


def make_dot_source(deep: bool) -> Method | None:
    try:
        from torchviz import make_dot
    except ImportError:
        return None

    def run(root: torch.Tensor) -> object:
        limit = sys.getrecursionlimit()
        if deep:
            sys.setrecursionlimit(max(limit, 4 * bare_walk(root) + 1000))
        try:
            return make_dot(root).source
        finally:
            sys.setrecursionlimit(limit)

    return run


def tree_text(root: torch.Tensor) -> str:
    """The terminal tree with its default bound (200 nodes), rendered as Rich would print it."""
    buffer = io.StringIO()
    options = ViewOptions(limits=Limits(max_nodes=200), fold=fold_for(80))
    Console(file=buffer, width=80, color_system=None).print(tree_view(trace(root), options))
    return buffer.getvalue()


def methods() -> dict[str, Method | None]:
    return {
        "bare walk": bare_walk,
        "inspect": trace,
        "json": lambda root: to_json(trace(root)),
        "dot": lambda root: to_dot(trace(root)),
        "mermaid": lambda root: to_mermaid(trace(root)),
        "tree (200)": tree_text,
        "make_dot": make_dot_source(deep=False),
        "make_dot, deep": make_dot_source(deep=True),
    }


def timed(method: Method, root: torch.Tensor) -> float | str:
    gc.collect()
    start = time.perf_counter()
    try:
        result = method(root)
    except RecursionError:
        return "RecursionError"
    elapsed = time.perf_counter() - start
    del result  # freeing the records is not part of the time
    return elapsed


def skip(name: str, n: int, shape: str, make_dot_up_to: int) -> bool:
    """make_dot takes about 30 us a node: 10^6 is minutes; at the default limit a chain
    fails at once, so only the raised-limit run is timed for chains."""
    if name.startswith("make_dot") and n > make_dot_up_to:
        return True
    return name == "make_dot, deep" and shape == "fan-in"


def run(sizes: list[int], repeat: int, make_dot_up_to: int) -> list[dict[str, Any]]:
    rows = []
    for shape, build in (("chain", chain), ("fan-in", fan_in)):
        for n in sizes:
            graphs = [build(n)]
            root = graphs[0]
            reps = repeat if n < 1_000_000 else 1
            todo = {
                k: m
                for k, m in methods().items()
                if m is not None and not skip(k, n, shape, make_dot_up_to)
            }
            samples: dict[str, list[float | str]] = {k: [] for k in todo}
            for _ in range(reps):
                for name, method in todo.items():
                    samples[name].append(timed(method, root))
            for name in todo:
                times = [t for t in samples[name] if isinstance(t, float)]
                failure = next((t for t in samples[name] if isinstance(t, str)), None)
                rows.append(
                    {
                        "shape": shape,
                        "n": n,
                        "method": name,
                        "median": statistics.median(times) if times else None,
                        "failure": failure,
                    }
                )
            print(f"  done: {shape} {n:,}", file=sys.stderr, flush=True)
            del root
            release(graphs)
    return rows


def report(rows: list[dict[str, Any]]) -> None:
    median = {(r["shape"], r["n"], r["method"]): r["median"] for r in rows}
    print(
        f"{'graph':<8} {'nodes':>9}  {'method':<15} {'median s':>9} {'/ bare':>7}"
        f" {'make_dot /':>10}"
    )
    for r in rows:
        key = (r["shape"], r["n"])
        bare = median.get((*key, "bare walk"))
        dot = median.get((*key, "make_dot")) or median.get((*key, "make_dot, deep"))
        if r["median"] is None:
            time_s, ratio, speedup = r["failure"] or "-", "", ""
        else:
            time_s = f"{r['median']:.4f}"
            ratio = f"{r['median'] / bare:.2f}x" if bare else ""
            exported = r["method"] in ("json", "dot", "mermaid")
            speedup = f"{dot / r['median']:.1f}x" if dot and exported else ""
        print(
            f"{r['shape']:<8} {r['n']:>9,}  {r['method']:<15} {time_s:>9} {ratio:>7} {speedup:>10}"
        )
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmax RSS of this process: {max_rss:.0f} MiB (torch's tensors and graphs included)")
    _goals(rows, median)


def _goals(rows: list[dict[str, Any]], median: dict[tuple[str, int, str], float]) -> None:
    for r in rows:
        if r["method"] == "inspect" and r["median"] is not None:
            ratio = r["median"] / median[(r["shape"], r["n"], "bare walk")]
            goal = (
                " (goal <= 3x at a 10^5 chain)"
                if (r["shape"], r["n"]) == ("chain", 100_000)
                else ""
            )
            print(f"inspect / bare walk, {r['shape']} {r['n']:,}: {ratio:.2f}x{goal}")
    dot, ours = median.get(("fan-in", 30_000, "make_dot")), median.get(("fan-in", 30_000, "dot"))
    if dot and ours:
        verdict = "met" if dot / ours >= 10 else "MISSED"
        print(
            f"goal: dot of a 30,000-leaf fan-in >= 10x faster than make_dot:"
            f" {dot / ours:.1f}x, {verdict}"
        )
    million = [r for r in rows if r["shape"] == "chain" and r["n"] == 1_000_000]
    if million:
        failed = [r["method"] for r in million if r["median"] is None]
        print(f"goal: 10^6 chain with no error: {'FAILED ' + str(failed) if failed else 'done'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 30_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--make-dot-up-to", type=int, default=30_000, help="nodes at most")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, Python {sys.version.split()[0]}", file=sys.stderr)
    report(run(args.sizes, args.repeat, args.make_dot_up_to))


if __name__ == "__main__":
    main()
