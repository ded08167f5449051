"""The docs show real output: every example README.md, CONTRIBUTING.md and docs/ paste whole
is run here and compared.

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

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(text|console)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
UNTIMED = ("--bench", "run ")
#: A relative Markdown link: `[text](path)` or `[text](path#anchor)`, not a URL.
LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)#\s]+)(?:#[^)\s]*)?\)")


def pages() -> list[Path]:
    """Every page whose examples are checked: README.md, CONTRIBUTING.md and docs/**/*.md."""
    found = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    return [page for page in found if page.exists()]


def examples() -> list[tuple[str, str, str]]:
    """(page, command, output) of every whole example, in page order."""
    found = []
    for page in pages():
        for match in FENCE.finditer(page.read_text(encoding="utf-8")):
            command, _, output = match.group(2).partition("\n")
            if not command.startswith("$ autograd-cli "):
                continue
            whole = "\n...\n" not in f"\n{output}" and not any(u in command for u in UNTIMED)
            if whole:
                name = page.relative_to(ROOT).as_posix()
                found.append((name, command.removeprefix("$ autograd-cli "), output))
    return found


def test_readme_has_examples_to_check() -> None:
    commands = {shlex.split(command)[0] for page, command, _ in examples() if page == "README.md"}
    assert commands >= {"graph", "grad"}


def test_docs_have_examples_of_every_command() -> None:
    commands = {shlex.split(command)[0] for _, command, _ in examples()}
    assert commands >= {"graph", "lesson", "grad", "why", "accumulate", "modes", "backward"}


def test_readme_is_a_short_page() -> None:
    """A newcomer reads it in five minutes; the rest lives in docs/."""
    assert README.stat().st_size < 15_000


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_at_files(page: Path) -> None:
    missing = [
        target
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if not (page.parent / target).exists()
    ]
    assert missing == []


@pytest.mark.parametrize(("page", "command", "expected"), examples(), ids=lambda v: str(v)[:50])
def test_doc_example_is_real_output(cli: Invoke, page: str, command: str, expected: str) -> None:
    result = cli(*shlex.split(command))
    shown = result.stdout + result.stderr if result.exit_code else result.stdout
    assert _lines(shown) == _lines(expected), page


def _lines(text: str) -> list[str]:
    """Lines as a reader compares them: trailing spaces and blank lines at the end do not show."""
    return [line.rstrip() for line in text.rstrip().splitlines()]
