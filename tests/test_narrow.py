"""A 40-column terminal: every value and every code line whole, wrapped rather than cut."""

from __future__ import annotations

import pytest

from autograd_cli.build.lesson import LESSON_SOURCE
from conftest import Invoke

NARROW = {"COLUMNS": "40"}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("modes",), 0),
        (("lesson",), 0),
        (("grad", "--expr", "sum(x**2)", "--var", "x=randn(3)", "--expect", "x=3*x"), 1),
    ],
    ids=["modes", "lesson", "grad --expect (a mismatch)"],
)
def test_no_cell_is_cut(cli: Invoke, args: tuple[str, ...], code: int) -> None:
    result = cli(*args, env=NARROW)
    assert result.exit_code == code, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 40
    assert [line for line in lines if "…" in line] == []


def test_code_lines_wrap_whole(cli: Invoke) -> None:
    result = cli("lesson", env=NARROW)
    flat = "".join(result.stdout.split())
    for line in LESSON_SOURCE.values():
        assert "".join(line.split()) in flat


def test_narrow_tables_keep_every_value(cli: Invoke) -> None:
    # One block per row: the values a 40-column table cut to `Tr…` and `1.54e+…`.
    modes = cli("modes", env=NARROW).stdout
    assert "plain\n  requires_grad: True\n  grad_fn: AddBackward0\n" in modes
    assert "  saved: 20 B\n" in modes
    grad = cli(
        "grad", "--expr", "sum(x**2)", "--var", "x=randn(3)", "--expect", "x=3*x", env=NARROW
    )
    assert "  difference: 1.54e+00\n" in grad.stdout
    lesson = cli("lesson", env=NARROW).stdout
    assert "w\n  shape: (5, 3)\n  dtype: float32\n  requires_grad: True\n" in lesson


def test_wide_terminal_keeps_the_tables(cli: Invoke) -> None:
    assert "┃ name ┃ shape" in cli("lesson").stdout  # 80 columns: the golden files' tables
