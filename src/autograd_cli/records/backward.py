"""One watched backward pass: the steps the engine ran and where NaN or inf appeared."""

from __future__ import annotations

from dataclasses import dataclass

from autograd_cli.records.grads import GradRecord
from autograd_cli.records.graph import GraphRecord


@dataclass(frozen=True)
class StepRecord:
    """One node the backward engine ran; `step` counts from 1 in the order they ran.

    `received`: the gradient for each output of the node's forward op (`grad_outputs`).
    `passed`: what it passed on along each edge (`grad_inputs`, in `next_functions` order);
    None when the node did not finish (backward stopped there). An `AccumulateGrad` passes
    nothing on: what it received is what its leaf's `.grad` gained.
    """

    step: int
    node: int
    received: tuple[GradRecord | None, ...]
    passed: tuple[GradRecord | None, ...] | None


@dataclass(frozen=True)
class Anomaly:
    """Where NaN or inf first appeared in backward: a step that passed it on."""

    step: int
    node: int
    positions: tuple[int, ...]  # the edges whose gradient holds it
    nan: bool
    inf: bool


@dataclass
class BackwardRecord:
    """One watched backward pass: the graph (ids as `graph` gives them) and its steps."""

    graph: GraphRecord
    result: str
    gradient: GradRecord  # what backward started from (1 for a scalar result)
    steps: list[StepRecord]
    anomaly: Anomaly | None = None  # only looked for with --detect-anomaly
