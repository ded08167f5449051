"""Repeated `backward` calls into one leaf's `.grad`, and the law they obey.

Autograd adds each call's vector-Jacobian product into `.grad` instead of replacing it,
so after k calls since the last `zero_()` the gradient is k times the first call's.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autograd_cli.inspection.tensors import values
from autograd_cli.records import Values

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class AccumulationCall:
    call: int  # 1-based
    zeroed_before: bool  # `.grad.zero_()` ran just before this call
    grad: Values  # `.grad` right after this call
    since_zero: int  # calls since the last zeroing, this one included


@dataclass(frozen=True)
class AccumulationRecord:
    calls: list[AccumulationCall]
    law_holds: bool
    law_failure: int | None  # first call where grad != since_zero * first call's grad


def accumulate(
    output: torch.Tensor,
    leaf: torch.Tensor,
    vector: torch.Tensor,
    calls: int,
    zero_before: Collection[int] = (),
) -> AccumulationRecord:
    """Call `output.backward(vector, retain_graph=True)` `calls` times, zeroing where asked."""
    import torch

    records: list[AccumulationCall] = []
    first: torch.Tensor | None = None
    since_zero = 0
    failure: int | None = None
    for call in range(1, calls + 1):
        zeroed = call in zero_before and leaf.grad is not None
        if zeroed:
            assert leaf.grad is not None
            leaf.grad.zero_()
            since_zero = 0
        output.backward(vector, retain_graph=True)
        since_zero += 1
        grad = leaf.grad
        assert grad is not None  # backward just filled it
        if first is None:
            first = grad.clone()
        if failure is None and not torch.allclose(grad, since_zero * first):
            failure = call
        records.append(AccumulationCall(call, zeroed, values(grad), since_zero))
    return AccumulationRecord(records, failure is None, failure)
