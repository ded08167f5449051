"""A `GraphRecord` as a Mermaid `flowchart`, which GitHub renders inside a ```mermaid block.

Ids are `n<id>` (letters and digits only, never a Mermaid keyword). Labels are quoted, and
the characters Mermaid reads inside quotes (`"`, `#`, `<`, `>`, `&`, backtick) are written
as its `#code;` entities (a newline as `<br/>`), so any variable name is safe. GitHub draws
at most 500 edges: use `--max-nodes` for a big graph. Edges to constants are left out.
Nodes a recorded model made sit in one `subgraph` per module.
"""

from __future__ import annotations

from collections.abc import Iterator

from autograd_cli.gcpause import paused_gc
from autograd_cli.records.graph import GraphRecord, NodeRecord
from autograd_cli.render.labels import Alike, node_lines
from autograd_cli.render.limits import ViewOptions, bounded
from autograd_cli.render.stream import batches

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


def mermaid_chunks(graph: GraphRecord, options: ViewOptions | None = None) -> Iterator[str]:
    """The flowchart in pieces, as they are made (`render.stream`); `to_mermaid` joins them."""
    options = options or ViewOptions()
    shown, cut = bounded(graph, options.limits)
    with paused_gc():
        yield "flowchart TD\n"
        if cut is not None:
            yield f"  %% cut: {cut.nodes} of {cut.of} nodes not shown ({', '.join(cut.by)})\n"
        subgraphs: dict[int, tuple[str, list[NodeRecord]]] = {}  # module index -> its nodes
        classes: dict[str, None] = {}  # the classes used, in order of first use
        label = Alike(_label, "#35;").text  # `#<id> `, its # escaped: made once a kind
        for batch in batches(shown.nodes):
            lines = []
            for node in batch:
                name = _class(node)
                if name is not None:
                    classes.setdefault(name)
                if node.module is None:
                    lines.append(f'  n{node.id}["{label(node)}"]\n')
                else:
                    subgraphs.setdefault(node.module.index, (node.module.label, []))[1].append(node)
            yield "".join(lines)
        for index, (title, members) in sorted(subgraphs.items()):  # in module order
            yield f'  subgraph m{index}["{escape(title)}"]\n'
            yield "".join(f'    n{node.id}["{label(node)}"]\n' for node in members)
            yield "  end\n"
        for edges in batches(shown.edges):
            yield "".join(f"  n{e.src} --> n{e.dst}\n" for e in edges if e.dst is not None)
        yield CLASSES + "\n"
        for name in classes:  # `class n1,n5 leaf`: the ids a batch at a time
            yield "  class "
            separator = ""
            for batch in batches(shown.nodes):
                ids = ",".join(f"n{node.id}" for node in batch if _class(node) == name)
                if ids:
                    yield separator + ids
                    separator = ","
            yield f" {name}\n"


def _label(node: NodeRecord) -> str:
    return escape("\n".join(node_lines(node)))  # line breaks become <br/> too


def to_mermaid(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    return "".join(mermaid_chunks(graph, options))
