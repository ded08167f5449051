"""A gradient reduced to a few numbers, as the graph, backward and why records hold it."""

from __future__ import annotations

from dataclasses import dataclass

from autograd_cli.records.tensors import Values


@dataclass(frozen=True)
class GradRecord:
    """A gradient reduced to what shows vanishing or exploding: its size and extremes.

    NaN and inf make `norm`, `min` and `max` meaningless, so they are flagged apart.
    """

    shape: tuple[int, ...]
    norm: float
    min: float
    max: float
    nan: bool
    inf: bool
    values: Values | None = None  # every value, for small gradients when asked for

    @property
    def finite(self) -> bool:
        return not (self.nan or self.inf)
