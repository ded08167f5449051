"""`graph --format`: one renderer module per format, imported only when that format is chosen.

A renderer takes the graph and the view options and returns a Rich renderable (tree, table:
for the terminal) or the text in pieces, written as they are made (json, dot, mermaid:
exports, never truncated unless limits are given).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from rich.console import RenderableType

    from autograd_cli.records.graph import GraphRecord
    from autograd_cli.render.limits import ViewOptions

    Renderer = Callable[[GraphRecord, ViewOptions], "RenderableType | Iterator[str]"]


class GraphFormat(StrEnum):
    tree = "tree"
    table = "table"
    json = "json"
    dot = "dot"
    mermaid = "mermaid"

    @property
    def export(self) -> bool:
        """Exports are text for files and other tools: whole unless limits are asked for."""
        return self not in (GraphFormat.tree, GraphFormat.table)


#: format -> "module:function"
RENDERERS = {
    GraphFormat.tree: "autograd_cli.render.tree:tree_view",
    GraphFormat.table: "autograd_cli.render.tables:table_view",
    GraphFormat.json: "autograd_cli.render.json:graph_chunks",
    GraphFormat.dot: "autograd_cli.render.dot:dot_chunks",
    GraphFormat.mermaid: "autograd_cli.render.mermaid:mermaid_chunks",
}


def renderer(fmt: GraphFormat) -> Renderer:
    module, function = RENDERERS[fmt].split(":")
    return cast("Renderer", getattr(importlib.import_module(module), function))
