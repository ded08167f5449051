"""`requires_grad` of the same computation under different grad modes."""

from __future__ import annotations

from dataclasses import dataclass

from autograd_cli.build.lesson import LessonInputs, forward


@dataclass(frozen=True)
class ModeRow:
    mode: str  # short key, stable in JSON
    code: str  # how the lesson writes it
    requires_grad: bool


def lesson_modes(inputs: LessonInputs) -> list[ModeRow]:
    """The lesson's three ways of computing z: tracked, under no_grad, detached."""
    import torch

    x, w, b = inputs.x, inputs.w, inputs.b
    plain = forward(x, w, b)
    with torch.no_grad():
        untracked = forward(x, w, b)
    detached = forward(x, w, b).detach()
    return [
        ModeRow("plain", "z = torch.matmul(x, w) + b", plain.requires_grad),
        ModeRow("no_grad", "with torch.no_grad(): z = ...", untracked.requires_grad),
        ModeRow("detach", "z.detach()", detached.requires_grad),
    ]
