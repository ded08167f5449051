"""`autograd-cli graph`: the grad_fn graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from autograd_cli.cli.app import (
    Json,
    Output,
    Seed,
    app,
    emit,
    emit_document,
    emit_streamed,
    handled,
    warned,
)
from autograd_cli.cli.options import (
    META_HINT,
    Code,
    ComputationOptions,
    DeviceOption,
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
from autograd_cli.defaults import TREE_MAX_NODES
from autograd_cli.errors import UsageError
from autograd_cli.program.device import Device
from autograd_cli.render.formats import GraphFormat

if TYPE_CHECKING:
    from rich.console import RenderableType

    from autograd_cli.build.computation import Computation
    from autograd_cli.inspection.modules import ModuleRecorder
    from autograd_cli.records.graph import GraphRecord

MODEL_PANEL = "Models"


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
    by_module: Annotated[
        bool,
        typer.Option(
            "--by-module",
            help="A program's model as a tree of modules: backward nodes, parameters, saved "
            "bytes and gradient norm of each; alike blocks folded.",
            rich_help_panel=MODEL_PANEL,
        ),
    ] = False,
    module_depth: Annotated[
        int | None,
        typer.Option(
            "--module-depth",
            metavar="K",
            min=0,
            help="With --by-module: show modules K levels deep (0: the top-level ones).",
            rich_help_panel=MODEL_PANEL,
        ),
    ] = None,
    expand: Annotated[
        str | None,
        typer.Option(
            "--expand",
            metavar="PATH",
            help="With --by-module: unfold module PATH (e.g. layers.3) and list its nodes.",
            rich_help_panel=MODEL_PANEL,
        ),
    ] = None,
    device: DeviceOption = Device.cpu,
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
    _check_model_options(
        by_module, module_depth, expand, fmt, depth, max_nodes, saved, grads, underline
    )
    program = ProgramOptions(file, code, trust, device)
    if by_module and not (program.given or trust):
        raise UsageError(
            "--by-module shows a model, and only a program has one",
            "give the program that builds and calls it: --file model.py",
        )
    if grads and device is Device.meta:
        raise UsageError("--grads needs values, and --device meta keeps shapes only", META_HINT)
    if underline is not None and fmt.export:
        raise UsageError(f"--underline is for the tree and the table, not --format {fmt.value}")
    computation = ComputationOptions(
        expr, var, wrt, lesson, dtype, max_elements, seed, program
    ).build(root, lesson="forward")  # the lesson's graph as `loss.backward()` will run it
    modules = computation.program.modules if computation.program is not None else None
    if by_module:
        assert modules is not None
        shown = _module_view(computation, modules, fmt, module_depth, expand, seed)
        if isinstance(shown, dict):
            emit_document(shown, output)
        else:
            emit(shown, output)
        return
    record = trace(
        computation.result,
        computation.named,
        saved=saved or fmt is GraphFormat.table,
        grads=grads,
        sources=computation.sources,
        modules=modules,
    )
    rendered = _render(record, fmt, seed, depth, max_nodes)
    if fmt is GraphFormat.json and isinstance(rendered, Iterator):
        emit_streamed(rendered, output)
        return
    if underline is not None and not isinstance(rendered, Iterator):
        rendered = _with_source(rendered, record, underline)
    emit(rendered, output)


def _check_model_options(
    by_module: bool,
    module_depth: int | None,
    expand: str | None,
    fmt: GraphFormat,
    *others: object,
) -> None:
    """The module view's options go with --by-module, and the node view's without it."""
    if not by_module:
        for option, value in (("--module-depth", module_depth), ("--expand", expand)):
            if value is not None:
                raise UsageError(f"{option} shapes the module view", "add --by-module")
        return
    if fmt not in (GraphFormat.tree, GraphFormat.json):
        raise UsageError(
            f"--by-module draws a tree or writes --json, not --format {fmt.value}",
            "the dot and mermaid exports group nodes by module already (one cluster each)",
        )
    names = ("--depth", "--max-nodes", "--saved", "--grads", "--underline")
    for option, other in zip(names, others, strict=True):
        if other not in (None, False):
            raise UsageError(
                f"{option} is for the graph of nodes, not the module view",
                "drop --by-module, or use --module-depth and --expand",
            )


def _module_view(
    computation: Computation,
    modules: ModuleRecorder,
    fmt: GraphFormat,
    depth: int | None,
    expand: str | None,
    seed: int,
) -> RenderableType | dict[str, Any]:
    """The module view, or its JSON document."""
    from autograd_cli.render.modules import find_module, module_rows

    graph, model = modules.model(
        computation.result,
        computation.named,
        sources=computation.sources,
        node_records=expand is not None,  # the node records are shown for an expanded module only
    )
    target = find_module(model, expand) if expand is not None else None
    rows = module_rows(model, depth, target)
    if fmt is GraphFormat.json:
        from dataclasses import replace

        from autograd_cli.records.modules import Thresholds, judged
        from autograd_cli.render.json import data, document

        limits = Thresholds()  # graph has no threshold options: grad has them
        judging = replace(model, parameters=judged(model.parameters, limits), thresholds=limits)
        fields = {"seed": seed, "view": "modules", "root": computation.result_name}
        return document("graph", warned(), **fields, **data(judging), rows=rows)
    from autograd_cli.render.module_view import module_view

    return module_view(model, rows, graph, target)


def _with_source(rendered: RenderableType, record: GraphRecord, node_id: int) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    from autograd_cli.render.tree import made_by

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
) -> RenderableType | Iterator[str]:
    """The view, or the export in pieces (written as they are made: `render.stream`)."""
    from autograd_cli.render.formats import renderer
    from autograd_cli.render.limits import Limits, ViewOptions, fold_for

    if fmt.export:  # text for files and tools: no terminal to fit, so no Rich to load
        fields = {"seed": seed, "warnings": warned()}
        options = ViewOptions(limits=Limits(depth, max_nodes or None), fields=fields)
        return renderer(fmt)(record, options)
    from autograd_cli.render.console import console

    limits = Limits(depth, (TREE_MAX_NODES if max_nodes is None else max_nodes) or None)
    options = ViewOptions(limits=limits, fold=fold_for(console().width), fields={"seed": seed})
    return renderer(fmt)(record, options)
