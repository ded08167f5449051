"""How a tensor's values reach a view: every value when they fit, else a summary.

`Values` is what `Tensor.tolist()` gives; `TensorRecord` is one tensor as a learner sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Nested lists of numbers as `Tensor.tolist()` gives them (a bare number for 0-d).
Values = float | int | bool | list["Values"]


def format_shape(shape: Sequence[int] | None) -> str:
    """`(3,)`, `(5, 3)`, `()`: a shape as Python writes the tuple; in messages and views."""
    if shape is None:
        return "?"
    return "(" + ", ".join(map(str, shape)) + (",)" if len(shape) == 1 else ")")


@dataclass(frozen=True)
class TensorRecord:
    """What a learner wants to see of one tensor, its gradient included."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    values: Values | None = None
    grad: Values | None = None


@dataclass(frozen=True)
class Summary:
    """A tensor too large to print: its statistics and a corner of its values, and every
    value too where the inspection kept them (a view shows the summary, a document the
    values)."""

    shape: tuple[int, ...]
    min: float | None  # None for an empty tensor
    max: float | None
    mean: float | None
    norm: float | None
    corner: Values  # at most a few rows and columns
    corner_index: str  # where the corner sits, as an index: "[0, :4, :6]"
    values: Values | None = None  # every value, when kept


#: What a view shows of a tensor: every value when they fit on screen, else a summary.
Numbers = Values | Summary
