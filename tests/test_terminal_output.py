"""What reaches a pipe or a terminal: no trailing spaces when piped, `NO_COLOR` followed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import Invoke

VIEWS = [
    ["lesson"],
    ["graph", "--saved", "--grads"],
    ["graph", "--format", "table"],
    ["grad", "--expr", "softmax(a, dim=0)", "--var", "a=tensor([1., 2.])", "--jacobian",
     "--vector", "tensor([1., 0.])"],
    ["modes"],
    ["accumulate"],
    ["backward"],
    ["why", "--all"],
]  # fmt: skip

#: SGR parameters that set a colour: 30-37, 38;..., 39, 40-47, 48;..., 49, 90-97, 100-107.
COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;\d+)*m")
SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("args", VIEWS, ids=" ".join)
def test_piped_views_have_no_trailing_spaces(cli: Invoke, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    padded = [line for line in result.stdout.splitlines() if line != line.rstrip()]
    assert padded == []


def test_output_file_has_no_trailing_spaces(cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "modes.txt"
    assert cli("modes", "-o", str(target)).exit_code == 0
    text = target.read_text(encoding="utf-8")
    assert "plain" in text and [ln for ln in text.splitlines() if ln != ln.rstrip()] == []


@pytest.mark.parametrize("args", [["modes"], ["graph", "--saved", "--grads"], ["lesson"]])
def test_no_color_on_a_terminal_drops_colour_and_keeps_styles(cli: Invoke, args: list[str]) -> None:
    """no-color.org asks for no colour; bold and dim are not colour, and Rich keeps them."""
    coloured = cli(*args, env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    plain = cli(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert COLOUR.search(coloured.stdout)  # a terminal does get colour without NO_COLOR
    assert SGR.search(plain.stdout) and not COLOUR.search(plain.stdout)
    assert SGR.sub("", plain.stdout) == SGR.sub("", coloured.stdout)
