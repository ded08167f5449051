"""Small renderables every view shares: code, checked facts, torch errors explained."""

from __future__ import annotations

from collections.abc import Sequence

from rich.syntax import Syntax
from rich.text import Text

from autograd_cli.records import TorchFailure


def code_block(lines: Sequence[str]) -> Syntax:
    return Syntax("\n".join(lines), "python", theme="ansi_dark", background_color="default")


def fact(holds: bool, text: str) -> Text:
    mark, style = ("✓", "green") if holds else ("✗", "bold red")
    return Text.assemble((f"{mark} ", style), text)


def failure_text(failure: TorchFailure, prefix: str = "") -> Text:
    """torch's words as it wrote them, then ours on the next line."""
    return Text.assemble(
        prefix,
        (f"{failure.error}: ", "bold red"),
        failure.message,
        "\n",
        ("→ ", "bold"),
        (failure.explanation, "italic"),
    )
