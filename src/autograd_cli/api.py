"""The same layers from Python: trace a tensor's graph, export it, or print it.

    import autograd_cli
    graph = autograd_cli.trace(loss, names={"w": w, "b": b}, saved=True)
    open("graph.dot", "w").write(autograd_cli.to_dot(graph))
    autograd_cli.show(loss, grads=True)

`autograd_cli` exposes these names lazily, so `import autograd_cli` costs no torch import.
Errors a user can cause (a leaf as the root, a graph already freed by backward) raise
`autograd_cli.errors.UsageError` with the message the CLI would print.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from autograd_cli.inspection.graph import trace as _trace
from autograd_cli.records import GraphRecord
from autograd_cli.render.dot import to_dot
from autograd_cli.render.json import to_json
from autograd_cli.render.limits import Limits, ViewOptions, fold_for
from autograd_cli.render.mermaid import to_mermaid

if TYPE_CHECKING:
    import torch
    from rich.console import Console

    from autograd_cli.build.sources import SourceMap

__all__ = ["GraphRecord", "show", "to_dot", "to_json", "to_mermaid", "trace"]


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
    return _trace(tensor, names, saved=saved, grads=grads, sources=sources)


def show(
    tensor: torch.Tensor | GraphRecord,
    names: Mapping[str, torch.Tensor] | None = None,
    *,
    saved: bool = False,
    grads: bool = False,
    sources: SourceMap | None = None,
    depth: int | None = None,
    max_nodes: int | None = 200,
    console: Console | None = None,
) -> GraphRecord:
    """Print the graph as the CLI's tree (bounded by `depth` and `max_nodes`; None: no
    limit) and return the record, so a notebook can export the same graph afterwards."""
    from rich.console import Console

    from autograd_cli.render.tree import tree_view

    graph = (
        tensor
        if isinstance(tensor, GraphRecord)
        else trace(tensor, names, saved=saved, grads=grads, sources=sources)
    )
    console = console or Console()
    options = ViewOptions(limits=Limits(depth, max_nodes), fold=fold_for(console.width))
    console.print(tree_view(graph, options))
    return graph
