"""How many elements a call would make, worked out from its arguments before it runs.

Pure Python over shapes (anything with a `.shape`) and numbers: torch's own shape
inference (the `meta` device) would do it too, but its first use imports torch._dynamo,
seconds on every run. `None` means the arguments make no sense as sizes; torch then
refuses them itself, before allocating.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from autograd_cli.expr.whitelist import Function, Size


def broadcast(shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...] | None:
    """numpy's rule: align from the right; each dim equal, or 1. None if they do not fit."""
    if shapes and all(s == shapes[0] for s in shapes):  # one shape, or all the same: itself
        return tuple(shapes[0])
    out: list[int] = []
    for dims in zip(*(reversed(s) for s in _padded(shapes)), strict=True):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


def _padded(shapes: Sequence[tuple[int, ...]]) -> list[tuple[int, ...]]:
    rank = max((len(s) for s in shapes), default=0)
    return [(1,) * (rank - len(s)) + s for s in shapes]


def _shape(value: object) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else None


def matmul(a: tuple[int, ...], b: tuple[int, ...]) -> float | None:
    """Elements of a @ b: 1-d operands count as a row / a column; leading dims broadcast."""
    if not a or not b:
        return None
    rows = a[-2] if len(a) > 1 else 1
    cols = b[-1] if len(b) > 1 else 1
    batch = broadcast([a[:-2], b[:-2]])
    return None if batch is None else math.prod(batch) * rows * cols


def _count(data: object) -> int:
    """Numbers in nested lists, with an explicit stack: lists nest as deep as the text allows."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        else:
            count += 1
    return count


def _number(value: object) -> object:
    """A 0-d tensor as the number it holds: torch takes `ones(n)` for a tensor n too."""
    if _shape(value) == () and hasattr(value, "item"):
        number: object = value.item()
        return number
    return value


def _naturals(values: Sequence[object]) -> list[int] | None:
    """The values, if every one is a whole number >= 0 (a size), else None."""
    sizes = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
    return sizes if len(sizes) == len(values) else None


def _arange(start: object, end: object, step: object) -> float | None:
    numbers = int | float
    if not (isinstance(start, numbers) and isinstance(end, numbers) and isinstance(step, numbers)):
        return None
    if step == 0:
        return None
    steps = (end - start) / step
    return math.ceil(steps) if math.isfinite(steps) and steps > 0 else max(steps, 0.0)


def elements(
    function: Function, args: Sequence[object], kwargs: Mapping[str, object]
) -> float | None:
    """The most elements `function(*args, **kwargs)` can make (inf: unbounded).

    None: the arguments are not sizes (a constructor given 2.5); the caller refuses those.
    """
    if function.size in (Size.BROADCAST, Size.MATMUL):
        shapes = [s for s in map(_shape, [*args, *kwargs.values()]) if s is not None]
        if function.size is Size.MATMUL and len(shapes) == 2:
            return matmul(*shapes)
        out = broadcast(shapes)
        return None if out is None else math.prod(out)
    args = [_number(a) for a in args]
    bound = dict(zip(function.params, args, strict=False)) | {
        k: _number(v) for k, v in kwargs.items()
    }
    match function.size:
        case Size.SHAPE:
            dims = list(args[len(function.params) :]) if function.varargs else [bound.get("size")]
            if len(dims) == 1 and isinstance(dims[0], list | tuple):
                dims = [_number(d) for d in dims[0]]
            sizes = _naturals(dims)
            return None if sizes is None else math.prod(sizes)
        case Size.EYE:
            n = bound.get("n")
            sizes = _naturals([n, bound.get("m", n)])
            return None if sizes is None else sizes[0] * sizes[1]
        case Size.ARANGE:
            if "end" not in bound:  # arange(end)
                return _arange(0, bound.get("start"), 1)
            return _arange(bound.get("start", 0), bound["end"], bound.get("step", 1))
        case Size.STEPS:
            sizes = _naturals([bound.get("steps")])
            return None if sizes is None else sizes[0]
        case Size.DATA:
            return _count(bound.get("data"))
    return None
