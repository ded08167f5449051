"""The lesson's accumulation example as a Computation: `out = (inp + 1).pow(2)`.

`d(out)/d(inp) = 2 (inp + 1)`, so with `inp = eye(5)` and a vector of ones each backward
call adds 4 on the diagonal and 2 elsewhere: numbers that need no seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from autograd_cli.build.computation import Computation

if TYPE_CHECKING:
    import torch

ACCUMULATION_SOURCE = {
    "inp": "inp = torch.eye(5, requires_grad=True)",
    "out": "out = (inp + 1).pow(2)",
}


def accumulation_computation() -> Computation:
    import torch

    def rebuild(leaves: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return (leaves["inp"] + 1).pow(2)

    inp = torch.eye(5, requires_grad=True)
    return Computation(
        rebuild({"inp": inp}), "out", {"inp": inp}, rebuild, dict(ACCUMULATION_SOURCE)
    )
