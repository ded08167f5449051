"""The same layers from Python: trace a tensor's graph, export it, or print it.

    import autograd_cli
    graph = autograd_cli.trace(loss, names={"w": w, "b": b}, saved=True)
    open("graph.dot", "w").write(autograd_cli.to_dot(graph))
    autograd_cli.show(loss, grads=True)
    autograd_cli.release(loss)  # before dropping a deep graph that was traced

`autograd_cli` exposes these names lazily, so `import autograd_cli` costs no torch import.
Errors a user can cause (a leaf as the root, a graph already freed by backward, an argument
of the wrong type) raise `autograd_cli.errors.UsageError` with the message the CLI would
print.

Once a graph has been walked from Python (by `trace`, `show`, or any loop over
`next_functions`), torch frees it recursively, one C stack frame per node: dropping a
chain of about 5x10^4 nodes or more then crashes Python (a segmentation fault). Call
`release(tensor)` on the graph's result first: it frees the graph root first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from autograd_cli.defaults import TREE_MAX_NODES
from autograd_cli.errors import UsageError
from autograd_cli.expr.evaluate import describe
from autograd_cli.inspection.graph import release_graph
from autograd_cli.inspection.graph import trace as _trace
from autograd_cli.records.graph import GraphRecord
from autograd_cli.render import dot, json, mermaid
from autograd_cli.render.limits import Limits, ViewOptions, fold_for

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import torch
    from rich.console import Console

    from autograd_cli.build.sources import SourceMap
    from autograd_cli.program.run import ProgramRun

__all__ = [
    "GraphRecord",
    "record",
    "release",
    "show",
    "show_steps",
    "to_dot",
    "to_json",
    "to_mermaid",
    "trace",
]


def trace(
    tensor: torch.Tensor,
    names: Mapping[str, torch.Tensor] | None = None,
    *,
    saved: bool = False,
    grads: bool = False,
    sources: SourceMap | None = None,
) -> GraphRecord:
    """The `grad_fn` graph of `tensor` as plain records (no tensors kept).

    `names` maps variable names to tensors: leaves get their names on their
    `AccumulateGrad` node, intermediates on the node that made them. `saved=True` records
    the tensors each node saved for backward; `grads=True` runs backward once (with
    `retain_graph=True`, leaving every `.grad` untouched) and records the gradient at each
    node and along each edge. `sources` (an `autograd_cli.build.sources.SourceMap` filled
    while the computation ran) labels each node with the code that created it.
    """
    _check_tensor(tensor, "trace")
    for name, value in (names or {}).items():
        if not isinstance(name, str):
            raise UsageError(f"names: the key {name!r} is not a string", _NAMES_EXAMPLE)
        _check_tensor(value, f"names[{name!r}]")
    return _trace(tensor, names, saved=saved, grads=grads, sources=sources)


def release(tensor: torch.Tensor) -> None:
    """Free the graph behind `tensor` root first; `tensor` keeps its values, not its graph.

    For a deep graph that `trace` or `show` walked: torch would free it recursively and
    crash from about 5x10^4 nodes. Other tensors of the graph still held elsewhere keep
    their part of it: release the result, after dropping the intermediates.
    """
    _check_tensor(tensor, "release")
    release_graph(tensor)


def to_dot(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    """The graph in Graphviz's DOT language, as `graph --format dot` writes it."""
    return dot.to_dot(_check_graph(graph, "to_dot"), options)


def to_json(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    """The graph's JSON document, as `graph --json` writes it."""
    return json.to_json(_check_graph(graph, "to_json"), options)


def to_mermaid(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    """The graph as a Mermaid flowchart, as `graph --format mermaid` writes it."""
    return mermaid.to_mermaid(_check_graph(graph, "to_mermaid"), options)


def show(
    tensor: torch.Tensor | GraphRecord,
    names: Mapping[str, torch.Tensor] | None = None,
    *,
    saved: bool = False,
    grads: bool = False,
    sources: SourceMap | None = None,
    depth: int | None = None,
    max_nodes: int | None = TREE_MAX_NODES,
    console: Console | None = None,
) -> GraphRecord:
    """Print the graph as the CLI's tree (bounded by `depth` and `max_nodes`; None, or
    `max_nodes=0` as in the CLI: no limit) and return the record, so a notebook can export
    the same graph afterwards."""
    from autograd_cli.render.console import console as make_console
    from autograd_cli.render.tree import tree_view

    for value, option in ((depth, "depth"), (max_nodes, "max_nodes")):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise UsageError(f"{option}={value!r}: give a whole number >= 0, or None for no limit")
    graph = (
        tensor
        if isinstance(tensor, GraphRecord)
        else trace(tensor, names, saved=saved, grads=grads, sources=sources)
    )
    console = console or make_console()
    limits = Limits(depth, max_nodes or None)  # max_nodes=0: all, as --max-nodes 0
    options = ViewOptions(limits=limits, fold=fold_for(console.width))
    console.print(tree_view(graph, options))
    return graph


_NAMES_EXAMPLE = 'names maps variable names to tensors, e.g. names={"w": w, "b": b}'


def _check_tensor(value: object, where: str) -> None:
    import torch

    if not isinstance(value, torch.Tensor):
        raise UsageError(
            f"{where}: expected a tensor, got {describe(value)}",
            _NAMES_EXAMPLE if where.startswith("names") else None,
        )


def _check_graph(graph: object, where: str) -> GraphRecord:
    if not isinstance(graph, GraphRecord):
        raise UsageError(
            f"{where}: expected the GraphRecord that trace() returns, got {describe(graph)}",
            f"{where}(autograd_cli.trace(tensor))",
        )
    return graph


def record(seed: int | None = None) -> AbstractContextManager[ProgramRun]:
    """`with autograd_cli.record() as run:` around your own code (a notebook cell): the
    timeline `step` shows, and `run.computation(name)` for every other view."""
    from autograd_cli.program.trusted import record as _record

    recording: AbstractContextManager[ProgramRun] = _record(seed)
    return recording


def show_steps(run: ProgramRun, console: Console | None = None) -> None:
    """Print a recorded run's timeline, as `autograd-cli step` shows it."""
    from autograd_cli.render.console import console as make_console
    from autograd_cli.render.step import step_view

    (console or make_console()).print(step_view(run.timeline))
