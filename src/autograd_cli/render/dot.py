"""A `GraphRecord` as Graphviz DOT source: `autograd-cli graph --format dot | dot -Tsvg`.

Node ids are `n<id>`, the walk's stable ids, so the same computation gives the same file.
Nodes a recorded model made sit in one cluster per module (`cluster_m<index>`, labelled
`0 (Linear)`). Labels are escaped for DOT's quoted strings (backslash, quote, newline),
so any variable name is safe. Edges to constants (torch's empty edges) are left out:
nothing flows there.
The source is joined from a list of lines in one pass: a million nodes is a few seconds.
"""

from __future__ import annotations

from autograd_cli.gcpause import paused_gc
from autograd_cli.records import GraphRecord, NodeRecord
from autograd_cli.render.labels import node_lines
from autograd_cli.render.limits import ViewOptions, bounded

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


@paused_gc()
def to_dot(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    options = options or ViewOptions()
    shown, cut = bounded(graph, options.limits)
    lines = [HEADER]
    if cut is not None:
        lines.append(f"  // cut: {cut.nodes} of {cut.of} nodes not shown ({', '.join(cut.by)})")
    clusters: dict[int, list[str]] = {}  # module index -> its nodes' lines
    for node in shown.nodes:
        line = f"  n{node.id} [{_attributes(node)}];"
        if node.module is None:
            lines.append(line)
        else:
            clusters.setdefault(node.module.index, [f'  label="{escape(node.module.label)}";'])
            clusters[node.module.index].append(line)
    for index, members in sorted(clusters.items()):
        # one cluster per module (the innermost that made the node), in module order
        lines.append(f"  subgraph cluster_m{index} {{")
        lines += ["  " + member for member in members]
        lines.append("  }")
    lines += [f"  n{e.src} -> n{e.dst};" for e in shown.edges if e.dst is not None]
    lines.append("}\n")
    return "\n".join(lines)
