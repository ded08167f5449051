"""README.md shows real output: every example it pastes whole is run here and compared.

An example is a ```text or ```console block whose first line is `$ autograd-cli ...`.
Blocks that elide lines (a line `...`) or show timings are only illustrations and skipped;
every other one must match the command's output at 80 columns, piped, line for line.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from conftest import Invoke

README = Path(__file__).parent.parent / "README.md"
FENCE = re.compile(r"^```(text|console)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
UNTIMED = ("--bench", "run ")


def examples() -> list[tuple[str, str]]:
    found = []
    for match in FENCE.finditer(README.read_text(encoding="utf-8")):
        command, _, output = match.group(2).partition("\n")
        if not command.startswith("$ autograd-cli "):
            continue
        whole = "\n...\n" not in f"\n{output}" and not any(u in command for u in UNTIMED)
        if whole:
            found.append((command.removeprefix("$ autograd-cli "), output))
    return found


def test_readme_has_examples_to_check() -> None:
    commands = {shlex.split(command)[0] for command, _ in examples()}
    assert {"graph", "lesson", "grad", "why", "accumulate"} <= commands


@pytest.mark.parametrize(("command", "expected"), examples(), ids=lambda v: str(v)[:50])
def test_readme_example_is_real_output(cli: Invoke, command: str, expected: str) -> None:
    result = cli(*shlex.split(command))
    shown = result.stdout + result.stderr if result.exit_code else result.stdout
    assert _lines(shown) == _lines(expected)


def _lines(text: str) -> list[str]:
    """Lines as a reader compares them: trailing spaces and blank lines at the end do not show."""
    return [line.rstrip() for line in text.rstrip().splitlines()]
