"""`accumulate` on a program: its backward calls as a ledger of `.grad` changes."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from autograd_cli.records.timeline import Ledger
from autograd_cli.render.blocks import Indented, fact
from autograd_cli.render.step import numbers_text


def ledger_view(ledger: Ledger) -> Group:
    """A heading per statement that changed a `.grad`, each change below it."""
    parts: list[RenderableType] = [
        Text.assemble(
            ("accumulate ", "bold"),
            (ledger.program, "bold"),
            (f"  ({ledger.calls} backward calls; after torch.manual_seed({ledger.seed}))", "dim"),
        )
    ]
    heading = None
    for row in ledger.rows:
        if (row.call, row.line) != heading:
            heading = (row.call, row.line)
            call = f"call {row.call}" if row.call is not None else "grad edit"
            parts.append(
                Text.assemble(
                    (f"{call:<8}", "bold yellow" if row.call else "dim"),
                    (f" line {row.line:<4}", "cyan"),
                    row.code,
                )
            )
        first, *rest = numbers_text(row.change.after)
        label = f"{row.change.tensor}.grad = "
        body = [Text.assemble((label, "bold"), first, ("   " + row.note, "dim"))]
        body += [Text(" " * len(label) + line) for line in rest]
        parts.append(Indented(*body, indent=4))
    shown = len({r.call for r in ledger.rows if r.call is not None})
    if shown < ledger.calls:
        parts.append(Text(f"{ledger.calls - shown} calls in folded loop iterations", "dim"))
    parts += [fact(holds, text) for text, holds in ledger.rules]
    if not ledger.rules:
        parts.append(
            Text("no backward call is repeated unchanged, so the k-times rule is not stated", "dim")
        )
    return Group(*parts)
