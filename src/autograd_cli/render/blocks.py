"""Small renderables every view shares: code, checked facts, torch errors explained."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
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


class Indented:
    """Texts indented by `indent` columns and wrapped to the width left.

    Unlike `rich.padding.Padding`, no line is padded with spaces to the full width, so
    text files and golden files carry no trailing blanks.
    """

    def __init__(self, *texts: Text, indent: int = 2) -> None:
        self.texts = texts
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        pad = " " * self.indent
        for text in self.texts:
            for line in text.wrap(console, max(options.max_width - self.indent, 20)):
                line.rstrip()
                yield Text.assemble(pad, line)
