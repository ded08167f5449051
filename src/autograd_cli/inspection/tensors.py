"""Tensors into `TensorRecord`s: the one place that turns torch values into plain lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autograd_cli.inspection.graph import dtype_name, short_name
from autograd_cli.records import TensorRecord, Values

if TYPE_CHECKING:
    import torch


def values(tensor: torch.Tensor) -> Values:
    """Nested lists (a number for 0-d), detached so reading never touches the graph."""
    result: Values = tensor.detach().cpu().tolist()
    return result


def tensor_record(name: str, tensor: torch.Tensor, *, with_values: bool = True) -> TensorRecord:
    return TensorRecord(
        name=name,
        shape=tuple(tensor.shape),
        dtype=dtype_name(tensor.dtype),
        requires_grad=tensor.requires_grad,
        is_leaf=tensor.is_leaf,
        grad_fn=short_name(tensor.grad_fn) if tensor.grad_fn is not None else None,
        values=values(tensor) if with_values else None,
        grad=_grad(tensor),
    )


def _grad(tensor: torch.Tensor) -> Values | None:
    # Reading `.grad` of a non-leaf that does not retain it only makes torch warn.
    if not (tensor.is_leaf or tensor.retains_grad) or tensor.grad is None:
        return None
    return values(tensor.grad)
