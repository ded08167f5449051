"""`why`: each variable's gradient explained, with the code to blame underlined."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from autograd_cli.records.why import WhyRecord
from autograd_cli.render.blocks import Indented, Underlined
from autograd_cli.render.labels import grad_lines


def why_view(records: Sequence[WhyRecord]) -> Group:
    parts: list[RenderableType] = []
    for record in records:
        if parts:
            parts.append(Text())
        verdict = "has a gradient" if record.has_grad else "no gradient"
        parts.append(
            Text.assemble(
                (record.name, "bold"),
                ": ",
                (verdict, "green" if record.has_grad else "bold red"),
                (f"  ({record.reason.value})", "dim"),
            )
        )
        body: list[RenderableType] = [Text(record.explanation)]
        if record.source is not None:
            body.append(Underlined(record.source))
        if record.grad is not None:
            label = f"{record.name}.grad "
            grad = ("\n" + " " * len(label)).join(grad_lines(record.grad))
            body.append(Text.assemble((label, "dim"), (grad, "green")))
        parts.append(Indented(*body))
    return Group(*parts)
