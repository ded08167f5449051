"""`grad --expect NAME=EXPR`: the user's formula against autograd's gradient."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autograd_cli.defaults import EXPECT_ATOL, EXPECT_RTOL
from conftest import Invoke, load_document

SQUARE = ("grad", "--expr", "sum(x**2)", "--var", "x=randn(4)")


def _doc(cli: Invoke, *args: str, code: int) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == code, result.stderr
    return load_document(result.stdout)


def test_right_formula_passes(cli: Invoke) -> None:
    doc = _doc(cli, *SQUARE, "--expect", "x=2*x", code=0)
    (record,) = doc["expect"]
    grad = doc["variables"][0]["grad"]
    rows = [
        {"index": [i], "grad": g, "expected": g, "difference": 0.0, "close": True}
        for i, g in enumerate(grad)
    ]
    assert record == {
        "name": "x",
        "formula": "2*x",
        "passed": True,
        "reason": None,
        "elements": len(grad),
        "mismatches": 0,
        "max_difference": 0.0,
        "max_difference_at": [0],  # every element ties: the first
        "max_rel_difference": 0.0,
        "max_rel_difference_at": [0],
        "rows": rows,
        "expected": grad,
        "rtol": EXPECT_RTOL,  # the tolerances it was judged with
        "atol": EXPECT_ATOL,
    }


def test_wrong_formula_fails_with_exit_1_and_still_reports(cli: Invoke) -> None:
    result = cli(*SQUARE, "--expect", "x=x")
    assert result.exit_code == 1
    assert "4 of 4 elements differ" in result.stdout
    assert "--expect failed for x" in result.stderr


def test_the_lesson_derivative_by_hand(cli: Invoke) -> None:
    # d mean(BCE(z, y)) / dz = (sigmoid(z) - y) / 3, and dz/db is the identity.
    args = ("grad", "--lesson", "--expr", "binary_cross_entropy_with_logits(x@w+b, y)")
    doc = _doc(cli, *args, "--expect", "b=(sigmoid(x@w+b)-y)/3", code=0)
    assert [e["passed"] for e in doc["expect"]] == [True]
    doc = _doc(cli, *args, "--expect", "b=sigmoid(x@w+b)-y", code=1)
    assert [e["mismatches"] for e in doc["expect"]] == [3]


def test_the_largest_differences_and_where(cli: Invoke) -> None:
    """x.grad = 2x = [[2, 4, 0], [6, 0, 2]]: |grad - expected| is largest at [1, 0] (6
    against 12); relative to the formula's value, at [1, 2] (2 against 0: infinitely
    off), while 0 against 0 ([0, 2], [1, 1]) is no difference at all."""
    args = ("grad", "--expr", "sum(x**2)", "--var", "x=tensor([[1., 2., 0.], [3., 0., 1.]])")
    formula = "x=tensor([[2., 1., 0.], [12., 0., 0.]])"
    (record,) = _doc(cli, *args, "--expect", formula, code=1)["expect"]
    assert record["max_difference"] == 6.0 and record["max_difference_at"] == [1, 0]
    assert record["max_rel_difference"] == "Infinity"
    assert record["max_rel_difference_at"] == [1, 2]
    (shapeless,) = _doc(cli, *args, "--expect", "x=ones(2)", code=1)["expect"]
    assert [shapeless[k] for k in ("max_difference_at", "max_rel_difference")] == [None, None]


def test_tolerances(cli: Invoke) -> None:
    _doc(cli, *SQUARE, "--expect", "x=2*x+1e-4", code=1)
    _doc(cli, *SQUARE, "--expect", "x=2*x+1e-4", "--atol", "1e-3", code=0)


def test_shape_mismatch_is_a_failure_with_a_reason(cli: Invoke) -> None:
    doc = _doc(cli, *SQUARE, "--expect", "x=ones(3)", code=1)
    (record,) = doc["expect"]
    assert record["reason"] == (
        "the formula has shape (3,), which does not broadcast to x.grad's shape (4,)"
    )
    # Broadcasting goes one way only, to the gradient's shape: (4, 1) would make (4, 4).
    doc = _doc(cli, *SQUARE, "--expect", "x=ones(4, 1)", code=1)
    assert doc["expect"][0]["reason"].startswith("the formula has shape (4, 1), which")


def test_constant_formula_broadcasts_like_allclose(cli: Invoke) -> None:
    args = ("grad", "--expr", "sum(2*x)", "--var", "x=randn(3)", "--expect", "x=2")
    (record,) = _doc(cli, *args, code=0)["expect"]
    assert (record["passed"], record["reason"], record["expected"]) == (True, None, 2.0)
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert "x.grad matches 2 in all 3 elements" in result.stdout
    # Only to the gradient's shape: (1, 3) against (3,) would add a dimension.
    m = ("grad", "--expr", "sum(x*ones(2, 3))", "--var", "x=randn(3)")
    _doc(cli, *m, "--expect", "x=2*ones(1, 3)", code=1)
    matrix = ("grad", "--expr", "sum(x*3)", "--var", "x=randn(2, 3)")
    (row,) = _doc(cli, *matrix, "--expect", "x=tensor([3.0, 3.0, 3.0])", code=0)["expect"]
    assert (row["passed"], row["reason"], row["mismatches"]) == (True, None, 0)
    assert _doc(cli, *matrix, "--expect", "x=1", code=1)["expect"][0]["mismatches"] == 6


def test_works_with_check(cli: Invoke) -> None:
    doc = _doc(cli, *SQUARE, "--expect", "x=2*x", "--check", code=0)
    assert "check" in doc and "expect" in doc


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("xx=2*x", "no variable is called 'xx'"),
        ("x", "--expect takes NAME=EXPR"),
        ("x=", "--expect takes NAME=EXPR"),
        ("x=2*q", "q"),
    ],
)
def test_bad_expectations_are_usage_errors(cli: Invoke, expect: str, message: str) -> None:
    result = cli(*SQUARE, "--expect", expect)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""  # refused before anything was printed


def test_variable_without_gradient(cli: Invoke) -> None:
    result = cli(*SQUARE, "--var", "c=ones(4)", "--wrt", "x", "--expect", "c=ones(4)")
    assert result.exit_code == 2
    assert "c has no gradient" in result.stderr


def test_output_file_holds_what_stdout_would(cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "grad.json"
    stdout = cli(*SQUARE, "--expect", "x=2*x", "--json").stdout
    result = cli(*SQUARE, "--expect", "x=2*x", "--json", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8") == stdout
