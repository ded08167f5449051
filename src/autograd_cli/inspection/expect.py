"""The user's own formula for a gradient, compared with autograd's.

For a course checking students' derivatives, or a library checking a custom op: the
formula is written in the expression language (`--expect "x=2*x"`) and compared element
by element the way `torch.allclose` does, |grad - expected| <= atol + rtol * |expected|,
after broadcasting it to the gradient's shape (so a constant formula compares with every
element).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from autograd_cli.build.computation import Computation
from autograd_cli.defaults import EXPECT_ATOL, EXPECT_RTOL
from autograd_cli.errors import UsageError, param
from autograd_cli.expr.parser import split_named, suggestion
from autograd_cli.inspection.tensors import values
from autograd_cli.records.reports import ExpectRecord, ExpectRow
from autograd_cli.records.tensors import format_shape

if TYPE_CHECKING:
    import torch

#: Rows a view shows of one comparison; mismatches come first.
SHOWN_ROWS = 20


def parse_expectation(text: str, names: list[str]) -> tuple[str, str]:
    """`NAME=EXPR` -> (NAME, EXPR), NAME a variable of the computation."""
    name, start = split_named(text, "expect", '"x=2*x"')
    if name not in names:
        raise UsageError(
            f"{param('expect')} {name}: no variable is called {name!r}",
            suggestion(name, names, f"variables: {', '.join(names) or 'none'}"),
        )
    return name, text[start:].strip()


def compare_expected(
    computation: Computation,
    expected: Sequence[tuple[str, str, torch.Tensor]],
    *,
    rtol: float = EXPECT_RTOL,
    atol: float = EXPECT_ATOL,
) -> list[ExpectRecord]:
    """Compare `.grad` of each (name, formula, expected) with it; backward has run."""
    records = []
    for name, formula, tensor in expected:
        variable = computation.tensors[name]
        grad = variable.grad if (variable.is_leaf or variable.retains_grad) else None
        if grad is None:
            raise UsageError(
                f"{param('expect')} {name}: {name} has no gradient to compare with",
                f"{name} does not require grad; pick a variable that does (see {param('wrt')})",
            )
        records.append(_compare(name, formula, grad, tensor, rtol, atol))
    return records


def _compare(
    name: str, formula: str, grad: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float
) -> ExpectRecord:
    import torch

    try:  # as torch.allclose does: `--expect "x=2"` means 2 in every element
        broadcast = torch.broadcast_to(expected, grad.shape)
    except RuntimeError:
        reason = (
            f"the formula has shape {format_shape(tuple(expected.shape))}, which does not "
            f"broadcast to {name}.grad's shape {format_shape(tuple(grad.shape))}"
        )
        return ExpectRecord(
            name=name,
            formula=formula,
            passed=False,
            reason=reason,
            elements=grad.numel(),
            mismatches=grad.numel(),
            max_difference=None,
            max_difference_at=None,
            max_rel_difference=None,
            max_rel_difference_at=None,
            rows=[],
            expected=None,
            rtol=rtol,
            atol=atol,
        )
    actual, wanted = grad.double().flatten(), broadcast.double().flatten()
    close = torch.isclose(actual, wanted, rtol=rtol, atol=atol, equal_nan=True)
    difference = (actual - wanted).abs()
    # relative to the formula's value, as torch.isclose's rtol is: x/0 is inf, 0/0 is 0
    relative = torch.where(difference == 0, 0.0, difference / wanted.abs())
    order = torch.cat([(~close).nonzero().flatten(), close.nonzero().flatten()])[:SHOWN_ROWS]
    shape = tuple(grad.shape)
    rows = [
        ExpectRow(
            _unravel(int(i), shape),
            float(actual[i]),
            float(wanted[i]),
            float(difference[i]),
            bool(close[i]),
        )
        for i in order.tolist()
    ]
    mismatches = int((~close).sum())
    worst, worst_rel = _largest(difference, shape), _largest(relative, shape)
    return ExpectRecord(
        name=name,
        formula=formula,
        passed=mismatches == 0,
        reason=None,
        elements=grad.numel(),
        mismatches=mismatches,
        max_difference=worst[0],
        max_difference_at=worst[1],
        max_rel_difference=worst_rel[0],
        max_rel_difference_at=worst_rel[1],
        rows=rows,
        expected=values(expected),
        rtol=rtol,
        atol=atol,
    )


def _largest(values: torch.Tensor, shape: tuple[int, ...]) -> tuple[float, tuple[int, ...] | None]:
    """The largest of a flat tensor of differences (NaN if any is) and the index, in
    `shape`, of the element that has it; 0 and no index when there are no elements."""
    if not values.numel():
        return 0.0, None
    flat = int(values.argmax())
    return float(values[flat]), _unravel(flat, shape)


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    index = []
    for size in reversed(shape):
        flat, rest = divmod(flat, size)
        index.append(rest)
    return tuple(reversed(index))
