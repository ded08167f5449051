"""A `GraphRecord` as a Rich tree, the root at the top, gradient flowing downwards."""

from __future__ import annotations

from rich.text import Text
from rich.tree import Tree

from autograd_cli.records import GraphRecord, NodeRecord
from autograd_cli.render.tables import format_shape


def node_label(node: NodeRecord) -> Text:
    label = Text.assemble((f"#{node.id} ", "dim"), (node.name, "bold cyan"))
    if node.leaf is not None:
        label.append(f"  {node.leaf}", style="bold green")
    elif node.tensor is not None:
        label.append(f"  = {node.tensor}", style="bold magenta")
    if node.shape is not None:
        label.append(f"  {format_shape(node.shape)} {node.dtype}", style="yellow")
    return label


def _reference(node: NodeRecord) -> Text:
    return Text.assemble(
        (f"#{node.id} ", "dim"), (node.name, "cyan"), (f" -> see #{node.id}", "dim")
    )


CONSTANT_LABEL = Text("None  (constant: this input needs no gradient)", style="dim italic")


def graph_tree(graph: GraphRecord) -> Tree:
    """Depth-first like the ids, built with a stack: no recursion, however deep the graph.

    A node reached again (a DAG) is drawn once; later visits show a reference to its id.
    """
    root = graph.nodes[graph.root]
    tree = Tree(node_label(root))
    placed = {root.id}
    stack = [(edge, tree) for edge in reversed(graph.children(root.id))]
    while stack:
        edge, parent = stack.pop()
        if edge.dst is None:
            parent.add(CONSTANT_LABEL)
            continue
        node = graph.nodes[edge.dst]
        if node.id in placed:
            parent.add(_reference(node))
            continue
        placed.add(node.id)
        branch = parent.add(node_label(node))
        stack.extend((child, branch) for child in reversed(graph.children(node.id)))
    return tree
