"""A `GraphRecord` as a Mermaid `flowchart`, which GitHub renders inside a ```mermaid block.

Ids are `n<id>` (letters and digits only, never a Mermaid keyword). Labels are quoted, and
the characters Mermaid reads inside quotes (`"`, `#`, `<`, `>`, `&`, backtick) are written
as its `#code;` entities (a newline as `<br/>`), so any variable name is safe. GitHub draws
at most 500 edges: use `--max-nodes` for a big graph. Edges to constants are left out.
Nodes a recorded model made sit in one `subgraph` per module.
"""

from __future__ import annotations

from autograd_cli.gcpause import paused_gc
from autograd_cli.records import GraphRecord, NodeRecord
from autograd_cli.render.labels import node_lines
from autograd_cli.render.limits import ViewOptions, bounded

_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}
_TABLE = str.maketrans({**_ENTITIES, "\n": "<br/>", "\r": ""})

CLASSES = """\
  classDef leaf fill:#dbeafe,stroke:#3b82f6
  classDef named fill:#f3e8ff,stroke:#a855f7
  classDef bad fill:#fde2e2,stroke:#dc2626,stroke-width:2px"""


def escape(text: str) -> str:
    """Text for a quoted Mermaid label (`#` first is safe: the table maps each char once)."""
    return text.translate(_TABLE)


def _class(node: NodeRecord) -> str | None:
    if node.grad is not None and not node.grad.finite:
        return "bad"
    if node.name == "AccumulateGrad":
        return "leaf"
    return "named" if node.tensor is not None else None


@paused_gc()
def to_mermaid(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    options = options or ViewOptions()
    shown, cut = bounded(graph, options.limits)
    lines = ["flowchart TD"]
    if cut is not None:
        lines.append(f"  %% cut: {cut.nodes} of {cut.of} nodes not shown ({', '.join(cut.by)})")
    subgraphs: dict[int, list[str]] = {}  # module index -> its nodes' lines
    for node in shown.nodes:
        label = escape("\n".join(node_lines(node)))  # line breaks become <br/> too
        line = f'  n{node.id}["{label}"]'
        if node.module is None:
            lines.append(line)
        else:
            title = escape(node.module.label)
            subgraphs.setdefault(node.module.index, [f'  subgraph m{node.module.index}["{title}"]'])
            subgraphs[node.module.index].append("  " + line)
    for _, members in sorted(subgraphs.items()):  # one subgraph per module, in module order
        lines += [*members, "  end"]
    lines += [f"  n{e.src} --> n{e.dst}" for e in shown.edges if e.dst is not None]
    lines.append(CLASSES)
    classes: dict[str, list[str]] = {}
    for node in shown.nodes:
        name = _class(node)
        if name is not None:
            classes.setdefault(name, []).append(f"n{node.id}")
    lines += [f"  class {','.join(ids)} {name}" for name, ids in classes.items()]
    return "\n".join(lines) + "\n"
