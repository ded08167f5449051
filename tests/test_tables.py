"""PaddedRows: the padded lines it prints in place of a Rich `Table`, styles included."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autograd_cli.render.tables import PaddedRows


def _table() -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("module")
    table.add_column("class")
    table.add_column("nodes", justify="right")
    table.add_row(
        Text("layers.0-11", style="cyan"),
        Text.assemble("TransformerEncoderLayer", (" x12", "bold")),
        "646",
    )
    table.add_row(Text("outside modules", style="dim"), "", "2")
    table.add_row(Text.assemble(("tötal", "bold"), " 漢字", style="italic"), "", "1,648")
    return table


def _printed(renderable: object, colour: bool) -> str:
    console = Console(
        file=io.StringIO(),
        width=100,
        color_system="standard" if colour else None,
        force_terminal=colour,
    )
    console.print(renderable)
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def test_the_lines_are_what_rich_table_prints() -> None:
    padded = _printed(PaddedRows(_table()), colour=False)
    table = _printed(_table(), colour=False)
    assert padded.splitlines() == [line.rstrip() for line in table.splitlines()]


def test_every_cell_keeps_its_style() -> None:
    """A styled `Text` without spans too: `Text.render` alone would drop its style."""
    padded = _printed(PaddedRows(_table()), colour=True)
    assert "\x1b[36mlayers.0-11\x1b[0m" in padded  # cyan, a style and no spans
    assert "\x1b[2moutside modules\x1b[0m" in padded  # dim
    assert "\x1b[1m x12\x1b[0m" in padded  # a span
    assert "\x1b[1;3mtötal\x1b[0m" in padded  # a span over the text's own style
    assert "\x1b[1mmodule\x1b[0m" in padded  # the header's style
