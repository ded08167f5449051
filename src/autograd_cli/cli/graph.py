"""`autograd-cli graph`: the grad_fn graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from autograd_cli.cli.app import Json, Output, Seed, app, emit, handled
from autograd_cli.cli.options import (
    Code,
    ComputationOptions,
    Dtype,
    DtypeName,
    Expr,
    File,
    Lesson,
    MaxElements,
    ProgramOptions,
    Trust,
    Var,
    Wrt,
)
from autograd_cli.errors import UsageError
from autograd_cli.render.formats import GraphFormat

if TYPE_CHECKING:
    from rich.console import RenderableType

    from autograd_cli.records import GraphRecord

#: Lines a terminal tree shows by default; exports are whole unless asked.
TREE_MAX_NODES = 200


@app.command()
@handled
def graph(
    root: Annotated[
        str | None,
        typer.Option(
            "--root", help="Which tensor's graph to show: loss (default) or z; not with --expr."
        ),
    ] = None,
    expr: Expr = None,
    var: Var = None,
    wrt: Wrt = None,
    lesson: Lesson = False,
    dtype: Dtype = DtypeName.float32,
    max_elements: MaxElements = None,
    file: File = None,
    code: Code = None,
    trust: Trust = False,
    seed: Seed = 0,
    json: Json = False,
    fmt: Annotated[
        GraphFormat | None,
        typer.Option(
            "--format",
            help="tree (default), table (count and saved bytes per op), json, dot, mermaid.",
        ),
    ] = None,
    output: Output = None,
    depth: Annotated[
        int | None, typer.Option("--depth", min=0, help="Show at most D levels below the root.")
    ] = None,
    max_nodes: Annotated[
        int | None,
        typer.Option(
            "--max-nodes",
            min=0,
            help=f"Show at most N nodes (0: all). Default {TREE_MAX_NODES} for the tree, "
            "all for exports.",
        ),
    ] = None,
    saved: Annotated[
        bool,
        typer.Option("--saved", help="The tensors each node saved for backward, and their bytes."),
    ] = False,
    grads: Annotated[
        bool,
        typer.Option("--grads", help="Run backward and show the gradient at every node."),
    ] = False,
    underline: Annotated[
        int | None,
        typer.Option(
            "--underline",
            metavar="ID",
            min=0,
            help="Also print the code that made node ID, the part of it underlined.",
        ),
    ] = None,
) -> None:
    """Show the grad_fn graph of the lesson's loss, or of --expr: a tree, a table or an export."""
    from autograd_cli.inspection.graph import trace

    fmt = _format(fmt, json)
    if fmt is GraphFormat.table:
        given = [o for o, v in (("--depth", depth), ("--max-nodes", max_nodes)) if v is not None]
        if given:
            raise UsageError(
                f"{given[0]} bounds the tree and the exports; --format table counts every node",
                f"drop {given[0]}, or pick another --format",
            )
    computation = ComputationOptions(
        expr, var, wrt, lesson, dtype, max_elements, seed, ProgramOptions(file, code, trust)
    ).build(root)
    record = trace(
        computation.result,
        computation.named,
        saved=saved or fmt is GraphFormat.table,
        grads=grads,
        sources=computation.sources,
    )
    rendered = _render(record, fmt, seed, depth, max_nodes)
    if underline is not None:
        rendered = _with_source(rendered, record, fmt, underline)
    emit(rendered, output)


def _with_source(
    rendered: RenderableType | str, record: GraphRecord, fmt: GraphFormat, node_id: int
) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    from autograd_cli.render.tree import made_by

    if fmt.export or isinstance(rendered, str):
        raise UsageError(f"--underline is for the tree and the table, not --format {fmt.value}")
    if node_id >= len(record.nodes):
        raise UsageError(
            f"--underline {node_id}: the graph has nodes #0 to #{len(record.nodes) - 1}"
        )
    node = record.nodes[node_id]
    if node.source is None:
        raise UsageError(f"--underline {node_id}: no code is recorded for #{node_id} {node.name}")
    return Group(rendered, Text(), made_by(node))


def _format(fmt: GraphFormat | None, json: bool) -> GraphFormat:
    if json and fmt not in (None, GraphFormat.json):
        raise UsageError(f"--json and --format {fmt.value} disagree", "give one of them")
    return GraphFormat.json if json else fmt or GraphFormat.tree


def _render(
    record: GraphRecord, fmt: GraphFormat, seed: int, depth: int | None, max_nodes: int | None
) -> RenderableType | str:
    from rich.console import Console

    from autograd_cli.render.formats import renderer
    from autograd_cli.render.limits import Limits, ViewOptions, fold_for

    if max_nodes is None and not fmt.export:
        max_nodes = TREE_MAX_NODES
    options = ViewOptions(
        limits=Limits(depth, max_nodes or None),
        fold=fold_for(Console().width),
        fields={"seed": seed},
    )
    return renderer(fmt)(record, options)
