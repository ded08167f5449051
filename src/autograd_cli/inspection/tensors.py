"""Tensors into `TensorRecord`s: the one place that turns torch values into plain lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autograd_cli.errors import UsageError, param
from autograd_cli.inspection.graph import dtype_name, short_name
from autograd_cli.records.tensors import Numbers, Summary, TensorRecord, Values, format_shape

if TYPE_CHECKING:
    import torch


def values(tensor: torch.Tensor) -> Values:
    """Nested lists (a number for 0-d), detached so reading never touches the graph."""
    result: Values = tensor.detach().cpu().tolist()
    return result


#: The largest grid a terminal shows well; bigger tensors get a `Summary`.
GRID_ROWS = 16
GRID_COLS = 8
CORNER_ROWS = 4
CORNER_COLS = 6


def fits_grid(shape: tuple[int, ...]) -> bool:
    if len(shape) > 2:
        return False
    rows = shape[0] if len(shape) == 2 else 1
    return rows <= GRID_ROWS and (not shape or shape[-1] <= GRID_COLS)


def summary(tensor: torch.Tensor, *, every_value: bool = False) -> Summary:
    """Statistics in float64, so a float32 tensor's norm does not overflow on the way;
    `every_value` keeps the values too."""
    data = tensor.detach()
    stats = data.double()
    empty = data.numel() == 0
    if empty or data.dim() == 1:
        corner, index = data.reshape(-1)[:GRID_COLS], f"[:{GRID_COLS}]"
    else:
        lead = "0, " * (data.dim() - 2)
        corner = data.reshape(-1, *data.shape[-2:])[0, :CORNER_ROWS, :CORNER_COLS]
        index = f"[{lead}:{CORNER_ROWS}, :{CORNER_COLS}]"
    return Summary(
        shape=tuple(data.shape),
        min=None if empty else stats.min().item(),
        max=None if empty else stats.max().item(),
        mean=None if empty else stats.mean().item(),
        norm=None if empty else stats.norm().item(),
        corner=values(corner),
        corner_index=index,
        values=values(data) if every_value else None,
    )


def numbers(tensor: torch.Tensor, *, every_value: bool) -> Numbers:
    """Every value when they fit a grid; a summary otherwise, holding every value as well
    when `every_value` (what a report keeps whatever it is shown as)."""
    if fits_grid(tuple(tensor.shape)):
        return values(tensor)
    return summary(tensor, every_value=every_value)


def tensor_record(
    name: str, tensor: torch.Tensor, *, with_values: bool = True, with_grad: bool = True
) -> TensorRecord:
    return TensorRecord(
        name=name,
        shape=tuple(tensor.shape),
        dtype=dtype_name(tensor.dtype),
        requires_grad=tensor.requires_grad,
        is_leaf=tensor.is_leaf,
        grad_fn=short_name(tensor.grad_fn) if tensor.grad_fn is not None else None,
        values=values(tensor) if with_values else None,
        grad=_grad(tensor) if with_grad else None,
    )


def _grad(tensor: torch.Tensor) -> Values | None:
    # Reading `.grad` of a non-leaf that does not retain it only makes torch warn.
    if not (tensor.is_leaf or tensor.retains_grad) or tensor.grad is None:
        return None
    return values(tensor.grad)


def check_vector_shape(vector: torch.Tensor, result: torch.Tensor, name: str) -> None:
    """Refuse a `backward(v)` vector of another shape than `name`'s, before torch does: the
    one check, in one wording, for every command that takes a vector."""
    if vector.shape != result.shape:
        raise UsageError(
            f"{param('vector')} has shape {format_shape(tuple(vector.shape))}, "
            f"but {name} has shape {format_shape(tuple(result.shape))}",
            f"give {param('vector')} the shape of {name}",
        )
