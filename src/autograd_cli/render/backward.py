"""`backward`: the engine's steps in the order it ran them, as text and as JSON."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from autograd_cli.records.backward import Anomaly, BackwardRecord, StepRecord
from autograd_cli.records.grads import GradRecord
from autograd_cli.records.graph import NodeRecord
from autograd_cli.render.blocks import Indented, Unbroken, Underlined, words
from autograd_cli.render.labels import grad_lines

LABEL = 10  # the width of the field names: "received  "


def _grad_text(grad: GradRecord | None, indent: int) -> Text:
    """A gradient's lines, the later ones indented by `indent`; NaN and inf in red."""
    if grad is None:
        return Text("None", style="dim")
    style = "green" if grad.finite else "bold red"
    return Text(("\n" + " " * indent).join(grad_lines(grad)), style=style)


def node_heading(node: NodeRecord) -> Text:
    text = Text.assemble((f"#{node.id} ", "dim"), (node.name, "bold cyan"))
    if node.leaf is not None:
        text.append(f"  {node.leaf}", style="bold green")
    elif node.tensor is not None:
        text.append(f"  = {node.tensor}", style="bold magenta")
    return text


def _field(label: str, value: Text, indent: int) -> Text:
    return Text.assemble(" " * indent, (label.ljust(LABEL), "dim"), value)


def step_text(record: BackwardRecord, step: StepRecord, width: int) -> Text:
    """One step: the node, its code, what it received, what it passed on along each edge."""
    graph = record.graph
    node = graph.nodes[step.node]
    indent = width + 2
    lines = [Text.assemble((f"{step.step}.".ljust(indent), "bold"), node_heading(node))]
    if node.source is not None:
        lines.append(_field("from", Text(node.source.text, style="blue"), indent))
    if node.name == "AccumulateGrad":
        label = f"{node.leaf or 'leaf'}.grad += "
        grad = step.received[0] if step.received else None
        lines.append(_field(label, _grad_text(grad, indent + max(LABEL, len(label))), indent))
        return Text("\n").join(lines)
    for index, grad in enumerate(step.received):
        label = "received" if len(step.received) == 1 else f"received[{index}]"
        lines.append(_field(label, _grad_text(grad, indent + LABEL), indent))
    if step.passed is None:
        lines.append(_field("passed", Text("nothing: it did not finish", style="red"), indent))
        return Text("\n").join(lines)
    for edge, grad in zip(graph.children(node.id), step.passed, strict=True):
        label = "passed" if edge.position == 0 else ""
        if edge.dst is None:  # torch's empty edge: nothing flows there
            shown = Text("→ None  (constant: needs no gradient)", style="dim")
        else:
            target = Text.assemble("→ ", node_heading(graph.nodes[edge.dst]), "  ")
            shown = Text.assemble(target, _grad_text(grad, indent + LABEL + len(target)))
        lines.append(_field(label, shown, indent))
    return Text("\n").join(lines)


def anomaly_view(record: BackwardRecord, anomaly: Anomaly) -> Group:
    """Where NaN or inf first appeared, and the code that made that node (carets on it)."""
    graph = record.graph
    node = graph.nodes[anomaly.node]
    what = " and ".join(w for w, on in (("NaN", anomaly.nan), ("inf", anomaly.inf)) if on)
    parts = [
        *words(f"{what} first appeared at step {anomaly.step}:", "bold red"),
        node_heading(node) + " ",
        *words("passed it on"),
    ]
    targets = [graph.children(node.id)[p].dst for p in anomaly.positions]
    named = [node_heading(graph.nodes[t]) for t in targets if t is not None]
    if named:
        parts += [Text("to "), *(label + ", " for label in named[:-1]), named[-1]]
    text = Unbroken(*parts)  # a node label moves to the next line whole
    missed = len(graph.nodes) - len(record.steps)
    stopped = Text(
        f"backward stopped there (--detect-anomaly): {missed} "
        f"node{'' if missed == 1 else 's'} did not run",
        style="dim",
    )
    made = [Underlined(node.source, "made by") if node.source is not None else Text()]
    return Group(text, Indented(*made, stopped))


def backward_view(record: BackwardRecord) -> Group:
    count = len(record.steps)
    header = Text.assemble(
        "backward from ",
        (record.result, "bold"),
        ", gradient ",
        _grad_text(record.gradient, len("backward from , gradient ") + len(record.result)),
        f"\n{count} step{'' if count == 1 else 's'}, in the order the engine ran them",
    )
    width = len(str(count)) + 1
    parts: list[RenderableType] = [header, Text()]
    parts += [step_text(record, step, width) for step in record.steps]
    if record.anomaly is not None:
        parts += [Text(), anomaly_view(record, record.anomaly)]
    return Group(*parts)
