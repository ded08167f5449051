"""What a view shows of a graph too big to read whole: the limits, the walk, what was cut.

One bounded walk serves every format, so the tree and a truncated export agree on which
nodes they show: depth-first like the node ids, each node placed once (later visits are
references), stopping below `--depth` and after `--max-nodes` nodes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from autograd_cli.records.graph import EdgeRecord, GraphRecord


@dataclass(frozen=True)
class Limits:
    depth: int | None = None  # levels shown below the root (the root is level 0)
    max_nodes: int | None = None  # distinct nodes shown

    @property
    def unbounded(self) -> bool:
        return self.depth is None and self.max_nodes is None


@dataclass(frozen=True)
class Cut:
    """The nodes a bounded view left out, counted by op name (most frequent first)."""

    nodes: int
    of: int  # nodes in the whole graph
    by_op: dict[str, int]
    by: tuple[str, ...]  # which limits cut something: "--depth 3", "--max-nodes 200"


@dataclass(frozen=True)
class ViewOptions:
    """Everything a renderer may need beyond the graph; each takes what applies to it."""

    limits: Limits = Limits()
    fold: int = 12  # tree: start a new section every `fold` levels, so lines stay short
    fields: Mapping[str, Any] = field(default_factory=dict)  # json: extra document fields


def fold_for(width: int) -> int:
    """Tree levels that fit a terminal `width` with room left for a label (7 at 80 columns):
    each level indents by 4 columns."""
    return max(4, (width - 50) // 4)


class StepKind(Enum):
    NODE = "node"  # a node placed here for the first time
    SEEN = "seen"  # a node placed earlier: a reference
    CONSTANT = "constant"  # torch's empty edge
    DEEPER = "deeper"  # `count` edges below `src` not followed (--depth)
    MORE = "more"  # `count` new nodes below `src` not placed (--max-nodes)


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    src: int | None  # the node this line hangs under (None: the root)
    node: int | None  # NODE, SEEN
    level: int
    count: int = 0  # DEEPER, MORE


def bounded_walk(graph: GraphRecord, limits: Limits) -> tuple[list[Step], Cut | None]:
    """The lines of a bounded view in order, and what it cut (None when nothing was)."""
    depth, max_nodes = limits.depth, limits.max_nodes
    root = graph.root
    placed = {root}
    steps = [Step(StepKind.NODE, None, root, 0)]
    cut_by: list[str] = []
    stack: list[tuple[EdgeRecord, int]] = []

    def expand(node: int, level: int) -> None:
        kids = graph.children(node)
        if not kids:
            return
        if depth is not None and level >= depth:
            steps.append(Step(StepKind.DEEPER, node, None, level + 1, len(kids)))
            if f"--depth {depth}" not in cut_by:
                cut_by.append(f"--depth {depth}")
            return
        stack.extend((edge, level + 1) for edge in reversed(kids))

    expand(root, 0)
    pending: Counter[int] = Counter()  # once --max-nodes is spent: new nodes left, by parent
    while stack:
        edge, level = stack.pop()
        if edge.dst is None:
            steps.append(Step(StepKind.CONSTANT, edge.src, None, level))
        elif edge.dst in placed:
            steps.append(Step(StepKind.SEEN, edge.src, edge.dst, level))
        elif max_nodes is not None and len(placed) >= max_nodes:
            pending[edge.src] += 1  # constants and references below still get their lines
        else:
            placed.add(edge.dst)
            steps.append(Step(StepKind.NODE, edge.src, edge.dst, level))
            expand(edge.dst, level)
    if pending:
        steps.extend(Step(StepKind.MORE, src, None, 0, n) for src, n in pending.items())
        cut_by.append(f"--max-nodes {max_nodes}")
    if len(placed) == len(graph.nodes):
        return steps, None
    by_op = Counter(node.name for node in graph.nodes if node.id not in placed)
    return steps, Cut(
        nodes=len(graph.nodes) - len(placed),
        of=len(graph.nodes),
        by_op=dict(sorted(by_op.items(), key=lambda item: (-item[1], item[0]))),
        by=tuple(cut_by),
    )


def bounded(graph: GraphRecord, limits: Limits) -> tuple[GraphRecord, Cut | None]:
    """The part of `graph` a bounded view shows, node ids kept, for the exports."""
    if limits.unbounded:
        return graph, None
    steps, cut = bounded_walk(graph, limits)
    if cut is None:
        return graph, None
    shown = {step.node for step in steps if step.kind is StepKind.NODE}
    nodes = [node for node in graph.nodes if node.id in shown]
    edges = [e for e in graph.edges if e.src in shown and (e.dst is None or e.dst in shown)]
    return GraphRecord(nodes, edges, graph.root, graph.saved_bytes), cut
