"""Small renderables every view shares: code, checked facts, torch errors explained."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from autograd_cli.records.failures import TorchFailure
from autograd_cli.records.source import Source
from autograd_cli.render.labels import underline

if TYPE_CHECKING:
    from rich.syntax import Syntax


def code_block(lines: Sequence[str]) -> Syntax:
    """Code wrapped, not cropped, on a narrow terminal: a cut line loses information.

    Rich's Syntax loads Pygments (tens of milliseconds): only views that show code pay it.
    """
    from rich.syntax import Syntax

    return Syntax(
        "\n".join(lines),
        "python",
        theme="ansi_dark",
        background_color="default",
        word_wrap=True,
    )


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


class Unbroken:
    """Text that wraps only between its parts, so that a node label (`#3 AccumulateGrad  x`)
    moves to the next line whole instead of breaking between its words."""

    def __init__(self, *parts: Text) -> None:
        self.parts = parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = Text()
        for part in self.parts:
            if line.cell_len and line.cell_len + cell_len(part.plain.rstrip()) > options.max_width:
                line.rstrip()
                yield line
                line = Text()
            line.append_text(part)
        line.rstrip()
        yield line


def words(text: str, style: str = "") -> list[Text]:
    """`text` as parts for `Unbroken`, one a word (with the space after it)."""
    return [Text(word + " ", style) for word in text.split()]


class Indented:
    """Renderables indented by `indent` columns, in the width left.

    Unlike `rich.padding.Padding`, no line is padded with spaces to the full width, so
    text files and golden files carry no trailing blanks. `lead` (in `style`) stands in
    the indent of every line, those a long line wraps onto included: `| ` before what a
    program printed. `head` stands in the indent of the first line only, which makes a
    hanging indent: a step's number and line, with its code wrapped under the code.
    """

    def __init__(
        self,
        *parts: RenderableType,
        indent: int = 2,
        lead: str = "",
        style: str = "",
        head: Text | None = None,
    ) -> None:
        self.parts = parts
        self.indent = indent
        self.lead = lead
        self.style = style
        self.head = head

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        pad = Segment(self.lead.ljust(self.indent), console.get_style(self.style))
        head = None if self.head is None else list(self.head.render(console))
        inner = options.update_width(max(options.max_width - self.indent, 20))
        for part in self.parts:
            for line in console.render_lines(part, inner, pad=False):
                while line and not line[-1].text.strip():  # the blanks wrapping leaves
                    line.pop()
                if line:
                    last = line[-1]
                    line[-1] = Segment(last.text.rstrip(), last.style, last.control)
                if head is None:
                    yield pad
                else:
                    yield from head
                    head = None
                yield from line
                yield Segment.line()


class Underlined:
    """`at  code`, and carets under the span of it to blame (cropped to fit around it)."""

    def __init__(self, source: Source, label: str = "at") -> None:
        self.source = source
        self.label = label

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        prefix = f"{self.label}  " if self.label else ""
        source = self.source
        if source.start is None or source.end is None:  # a whole line: nothing to point at
            yield Text.assemble((prefix, "dim"), (source.code, "blue"))
            return
        width = max(options.max_width - len(prefix), 20)
        shown, carets = underline(source.code, (source.start, source.end), width)
        yield Text.assemble((prefix, "dim"), (shown, "blue"))
        yield Text.assemble(" " * len(prefix), (carets, "bold yellow"))
