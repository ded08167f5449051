"""A `GraphRecord` as Graphviz DOT source: `autograd-cli graph --format dot | dot -Tsvg`.

Node ids are `n<id>`, the walk's stable ids, so the same computation gives the same file.
Nodes a recorded model made sit in one cluster per module (`cluster_m<index>`, labelled
`0 (Linear)`). Labels are escaped for DOT's quoted strings (backslash, quote, newline),
so any variable name is safe. Edges to constants (torch's empty edges) are left out:
nothing flows there.
The source is made in batches of nodes and written as it is made (`render.stream`).
"""

from __future__ import annotations

from collections.abc import Iterator

from autograd_cli.gcpause import paused_gc
from autograd_cli.records.graph import GraphRecord, NodeRecord
from autograd_cli.render.labels import Alike, node_lines
from autograd_cli.render.limits import ViewOptions, bounded
from autograd_cli.render.stream import batches

HEADER = """\
digraph autograd {
  // grad_fn graph by autograd-cli: gradient flows along the arrows, from the root down
  graph [rankdir=TB];
  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=10];
  edge [color=gray40];"""


def escape(text: str) -> str:
    """Text for a DOT double-quoted string: `\\` and `"` escaped, newlines as `\\n`."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _attributes(node: NodeRecord) -> str:
    label = escape("\n".join(node_lines(node)))  # the line breaks become DOT's \n too
    if node.grad is not None and not node.grad.finite:
        return f'label="{label}", color=red, penwidth=2, fillcolor="#fde2e2"'
    if node.leaf is not None or node.name == "AccumulateGrad":
        return f'label="{label}", fillcolor="#dbeafe"'
    if node.tensor is not None:
        return f'label="{label}", fillcolor="#f3e8ff"'
    return f'label="{label}"'


def dot_chunks(graph: GraphRecord, options: ViewOptions | None = None) -> Iterator[str]:
    """The DOT source in pieces, as they are made (`render.stream`); `to_dot` joins them."""
    options = options or ViewOptions()
    shown, cut = bounded(graph, options.limits)
    with paused_gc():
        yield HEADER + "\n"
        if cut is not None:
            yield f"  // cut: {cut.nodes} of {cut.of} nodes not shown ({', '.join(cut.by)})\n"
        clusters: dict[int, tuple[str, list[NodeRecord]]] = {}  # module index -> its nodes
        attributes = Alike(_attributes, 'label="#').text  # most nodes' labels made once a kind
        for batch in batches(shown.nodes):
            lines = []
            for node in batch:
                if node.module is None:
                    lines.append(f"  n{node.id} [{attributes(node)}];\n")
                else:
                    clusters.setdefault(node.module.index, (node.module.label, []))[1].append(node)
            yield "".join(lines)
        for index, (label, members) in sorted(clusters.items()):
            # one cluster per module (the innermost that made the node), in module order
            yield f'  subgraph cluster_m{index} {{\n    label="{escape(label)}";\n'
            yield "".join(f"    n{node.id} [{attributes(node)}];\n" for node in members)
            yield "  }\n"
        for edges in batches(shown.edges):
            yield "".join(f"  n{e.src} -> n{e.dst};\n" for e in edges if e.dst is not None)
        yield "}\n"


def to_dot(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    return "".join(dot_chunks(graph, options))
