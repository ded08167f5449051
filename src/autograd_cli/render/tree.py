"""A `GraphRecord` as a Rich tree, the root at the top, gradient flowing downwards.

Built from the bounded walk (`render.limits`), so it is as long as `--max-nodes` allows and
never deeper than `--depth`. Every `fold` levels a branch goes on as a new tree below the
first one: a chain a thousand nodes deep stays readable instead of running off the right
edge of the terminal. Rich renders a tree with an explicit stack, so no depth recurses.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text
from rich.tree import Tree

from autograd_cli.defaults import TREE_MAX_NODES
from autograd_cli.records.grads import GradRecord
from autograd_cli.records.graph import GraphRecord, NodeRecord, SavedRecord
from autograd_cli.records.source import Source
from autograd_cli.records.tensors import format_shape
from autograd_cli.render.blocks import Indented, Underlined
from autograd_cli.render.labels import crop, grad_summary, saved_summary
from autograd_cli.render.limits import Cut, Limits, StepKind, ViewOptions, bounded_walk

CONSTANT_LABEL = Text("None  (constant: this input needs no gradient)", style="dim italic")


def grad_text(
    grad: GradRecord | None, shape: tuple[int, ...] | None = None, label: str = "grad"
) -> Text:
    """The gradient at a node; NaN and inf in red, where the eye goes."""
    text = Text(f"{label} ", style="dim")
    if grad is None:
        text.append("None (no gradient reached this output)", style="dim italic")
        return text
    if shape is not None and grad.shape != shape:
        text.append(f"{format_shape(grad.shape)} ")
    text.append(grad_summary(grad), style="green" if grad.finite else "bold red")
    return text


def grad_texts(node: NodeRecord) -> list[Text]:
    """`grad ...`, or one `grad[k] ...` per output of an op that made several."""
    if node.output_grads is not None:
        return [grad_text(g, (), f"grad[{k}]") for k, g in enumerate(node.output_grads)]
    return [grad_text(node.grad, node.shape)] if node.grad is not None else []


def saved_text(saved: SavedRecord) -> Text:
    style = (
        "dim italic"
        if saved.freed
        else "bold red"
        if saved.stale
        else "magenta"
        if saved.alias
        else ""
    )
    return Text.assemble(
        ("saved ", "dim"), (saved.name, "bold"), " ", (saved_summary(saved), style)
    )


class SourceLine:
    """`from z = torch.matmul(x, w) + b  line 4`: the code that created a node (and, from
    a program, the line it stands on), on one line: a long span is cropped to the width
    the tree leaves it, around the node's own operator (the whole span is in the JSON)."""

    def __init__(self, source: Source, indent: str = "  ") -> None:
        self.source = source
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        source = self.source
        where = "" if source.line is None else f"  line {source.line}"
        room = max(options.max_width - len(self.indent) - len("from ") - len(where), 12)
        text = " ".join(source.text.splitlines())
        focus = 0
        if source.focus is not None and source.start is not None:
            focus = source.focus - source.start
        shown, _ = crop(text, focus, room)
        yield Text.assemble(
            self.indent, ("from ", "dim"), (shown, "blue"), (where, "dim"), no_wrap=True
        )


def made_by(node: NodeRecord) -> RenderableType:
    """`#3 MmBackward0 was made by`, then the code, the node's part of it underlined."""
    heading = Text.assemble((f"#{node.id} ", "dim"), (node.name, "bold cyan"), " was made by")
    if node.source is None:
        return heading
    return Group(heading, Indented(Underlined(node.source, "")))


def node_label(node: NodeRecord, note: Text | None = None) -> RenderableType:
    """The node's heading (`note` after it), then its source, gradient and saved tensors."""
    label = Text.assemble((f"#{node.id} ", "dim"), (node.name, "bold cyan"))
    if node.leaf is not None:
        label.append(f"  {node.leaf}", style="bold green")
    elif node.tensor is not None:
        label.append(f"  = {node.tensor}", style="bold magenta")
    if node.shape is not None:
        label.append(f"  {format_shape(node.shape)} {node.dtype}", style="yellow")
    if node.module is not None:
        label.append(f"  in {node.module.label}", style="dim")
    if note is not None:
        label.append_text(note)
    parts: list[RenderableType] = [label]
    if node.source is not None:
        parts.append(SourceLine(node.source))
    lines = grad_texts(node) + [saved_text(saved) for saved in node.saved or ()]
    if lines:
        parts.append(Text("\n").join(Text("  ").append_text(line) for line in lines))
    return parts[0] if len(parts) == 1 else Group(*parts)


def _reference(node: NodeRecord) -> Text:
    return Text.assemble(
        (f"#{node.id} ", "dim"), (node.name, "cyan"), (f" -> see #{node.id}", "dim")
    )


def _hidden(count: int, what: str, why: str) -> Text:
    return Text(f"… {count:,} more {what}{'' if count == 1 else 's'} ({why})", style="dim italic")


def tree_sections(graph: GraphRecord, options: ViewOptions) -> tuple[list[Tree], Cut | None]:
    """The tree (and its continuations, one per folded branch), and what it cut."""
    steps, cut = bounded_walk(graph, options.limits)
    first = steps[0]
    assert first.node is not None
    branches = {first.node: Tree(node_label(graph.nodes[first.node]))}
    sections = [branches[first.node]]
    limits = options.limits
    for step in steps[1:]:
        assert step.src is not None
        parent = branches[step.src]
        if step.kind is StepKind.CONSTANT:
            parent.add(CONSTANT_LABEL)
        elif step.kind is StepKind.SEEN:
            assert step.node is not None
            parent.add(_reference(graph.nodes[step.node]))
        elif step.kind is StepKind.DEEPER:
            parent.add(_hidden(step.count, "edge", f"--depth {limits.depth}"))
        elif step.kind is StepKind.MORE:
            parent.add(_hidden(step.count, "node", f"--max-nodes {limits.max_nodes}"))
        else:
            assert step.node is not None
            node = graph.nodes[step.node]
            if step.level % options.fold == 0 and graph.children(node.id):
                parent.add(node_label(node, Text("  ↓ continued below", style="dim")))
                heading = Text(f"  (level {step.level}, under #{step.src})", style="dim")
                branches[node.id] = Tree(node_label(node, heading))
                sections.append(branches[node.id])
            else:
                branches[node.id] = parent.add(node_label(node))
    return sections, cut


def graph_tree(graph: GraphRecord) -> Tree:
    """The whole graph as one tree: for small graphs (the lesson's)."""
    sections, _ = tree_sections(graph, ViewOptions(fold=1 << 30))
    return sections[0]


def cut_line(cut: Cut, top: int = 8) -> Text:
    """`cut: 812 of 1,012 nodes not shown (--max-nodes 200): 800 MulBackward0, ...`."""
    ops = list(cut.by_op.items())
    shown = ", ".join(f"{n:,} {name}" for name, n in ops[:top])
    if len(ops) > top:
        rest = sum(n for _, n in ops[top:])
        shown += f", {rest:,} in {len(ops) - top} other ops"
    return Text(
        f"cut: {cut.nodes:,} of {cut.of:,} nodes not shown ({', '.join(cut.by)}): {shown}",
        style="yellow",
    )


def tree_view(graph: GraphRecord, options: ViewOptions | None = None) -> RenderableType:
    """The tree, its continuations, what was cut, and the op table when bytes are known."""
    options = options or ViewOptions(limits=Limits(max_nodes=TREE_MAX_NODES))
    sections, cut = tree_sections(graph, options)
    parts: list[RenderableType] = []
    for section in sections:
        if parts:
            parts.append(Text())
        parts.append(section)
    if cut is not None:
        parts.append(cut_line(cut))
    if graph.saved_bytes is not None:  # --saved: the default view loads no table (Rich's)
        from autograd_cli.render.tables import op_table

        parts += [Text(), op_table(graph)]
    return Group(*parts)
