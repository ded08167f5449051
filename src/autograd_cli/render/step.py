"""`step`: a program's timeline, one entry per executed statement, and its JSON events."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from autograd_cli.records.tensors import Numbers, Summary, format_shape
from autograd_cli.records.timeline import (
    FoldedSteps,
    GradChange,
    ProgramFailure,
    StepEvent,
    TensorState,
    Timeline,
)
from autograd_cli.render.blocks import Indented, Underlined
from autograd_cli.render.labels import format_number, format_values

#: Nodes a backward entry names before it says how many more ran.
SHOWN_NODES = 8


def numbers_text(numbers: Numbers | None) -> list[str]:
    """`None`, `[0.2661, 0.1179]`, a matrix a row a line, or a summary of a large one."""
    if numbers is None:
        return ["None"]
    if isinstance(numbers, Summary):
        stats = ", ".join(
            f"{k} {format_number(v)}"
            for k, v in (("min", numbers.min), ("max", numbers.max), ("norm", numbers.norm))
            if v is not None
        )
        return [f"{format_shape(numbers.shape)} tensor: {stats}"]
    return format_values(numbers)


def _tensor_line(state: TensorState) -> Text:
    flags = [format_shape(state.shape), state.dtype]
    if state.requires_grad:
        flags.append("requires_grad")
    flags.append("leaf" if state.is_leaf else "non-leaf")
    if state.grad_fn:
        flags.append(f"grad_fn={state.grad_fn}")
    return Text.assemble((state.name, "bold"), "  ", (" ".join(flags), "dim"))


def _grad_lines(change: GradChange) -> list[Text]:
    before, after = numbers_text(change.before), numbers_text(change.after)
    how = "" if change.how == "backward" else f"  ({change.how})"
    head = Text.assemble((f"{change.tensor}.grad", "bold"), how)
    if len(before) == 1 and len(after) == 1:
        return [Text.assemble(head, "  ", before[0], " -> ", (after[0], "green"))]
    lines = [head]
    lines += [Text("  before " + before[0])] + [Text("         " + line) for line in before[1:]]
    lines += [Text("  after  " + after[0], "green")]
    lines += [Text("         " + line, "green") for line in after[1:]]
    return lines


def _event(event: StepEvent) -> list[RenderableType]:
    loop = "  ".join(f"{name}={value}" for name, value in event.loop)
    # the number and line, then the code wrapped under itself (a hanging indent)
    number = Text.assemble((f"{event.index:>3} ", "dim"), (f"line {event.line:<3} ", "cyan"))
    code = Text.assemble(event.code, (f"   [{loop}]" if loop else "", "dim"))
    head = Indented(code, indent=number.cell_len, head=number)
    body: list[RenderableType] = []
    body += [Text(mode, "magenta") for mode in event.modes]
    body += [_tensor_line(state) for state in event.bound]
    if event.nodes:
        body.append(Text.assemble(("new nodes ", "dim"), ", ".join(event.nodes)))
    for call in event.backward:
        shown = ", ".join(call.nodes[:SHOWN_NODES])
        more = f", ... ({len(call.nodes)} nodes)" if len(call.nodes) > SHOWN_NODES else ""
        body.append(
            Text.assemble(
                (f"{call.kind} from {call.root}", "bold yellow"),
                f": ran {shown}{more}; graph {call.graph}",
            )
        )
        for change in call.grads:
            body += _grad_lines(change)
    for change in event.grads:
        body += _grad_lines(change)
    for bump in event.versions:
        version = (
            "an inference tensor: no version" if bump.version is None else f"version {bump.version}"
        )
        body.append(Text(f"{bump.tensor} changed in place ({bump.op}): {version}"))
    if event.printed:  # as printed: a long line wraps under the `| `, not under the margin
        body.append(Indented(*(Text(line) for line in event.printed), lead="| ", style="dim"))
    return [head, Indented(*body, indent=9)] if body else [head]


def _folded(folded: FoldedSteps) -> Text:
    return Text(
        f"    ... {folded.iterations:,} more iterations of the loop at line {folded.line} "
        f"({folded.statements:,} statements) folded",
        "dim italic",
    )


def failure_view(failure: ProgramFailure) -> RenderableType:
    from autograd_cli.records.source import Source

    parts: list[RenderableType] = [
        Text.assemble(("failed ", "bold red"), f"at line {failure.line}: {failure.message}")
    ]
    if failure.start is not None:
        parts.append(Indented(Underlined(Source(failure.code, failure.start, failure.end), "")))
    if failure.hint:
        parts.append(Text.assemble(("hint: ", "bold"), failure.hint))
    return Group(*parts)


def step_view(timeline: Timeline) -> Group:
    kind = "trusted Python" if timeline.trusted else "interpreted"
    parts: list[RenderableType] = [
        Text.assemble(
            ("step ", "bold"),
            (timeline.program, "bold"),
            (f"  ({kind}; after torch.manual_seed({timeline.seed}))", "dim"),
        )
    ]
    for entry in timeline.entries:
        parts += [_folded(entry)] if isinstance(entry, FoldedSteps) else _event(entry)
    for addition in timeline.additions:
        parts.append(Text(addition, "yellow"))
    if timeline.failure is not None:
        parts.append(failure_view(timeline.failure))
    else:
        parts.append(Text(f"{timeline.statements:,} statements ran", "dim"))
    return Group(*parts)
