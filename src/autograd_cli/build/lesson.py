"""The lesson's one-layer network, built exactly as the lesson writes it.

x = ones(5); y = zeros(3); w = randn(5, 3); b = randn(3)
z = matmul(x, w) + b
loss = binary_cross_entropy_with_logits(z, y)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from autograd_cli.build.sources import SourceMap
from autograd_cli.records.source import Source

if TYPE_CHECKING:
    import torch

#: The lesson's code, line by line, for showing where each tensor came from.
LESSON_SOURCE = {
    "x": "x = torch.ones(5)",
    "y": "y = torch.zeros(3)",
    "w": "w = torch.randn(5, 3, requires_grad=True)",
    "b": "b = torch.randn(3, requires_grad=True)",
    "z": "z = torch.matmul(x, w) + b",
    "loss": "loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)",
}


@dataclass
class LessonInputs:
    """The lesson's inputs and parameters: x (5,), y (3,), w (5, 3), b (3,)."""

    x: torch.Tensor
    y: torch.Tensor
    w: torch.Tensor
    b: torch.Tensor

    def named(self) -> dict[str, torch.Tensor]:
        return {"x": self.x, "y": self.y, "w": self.w, "b": self.b}


@dataclass
class LessonNetwork(LessonInputs):
    """The inputs plus the forward pass: z (3,) and the scalar loss."""

    z: torch.Tensor
    loss: torch.Tensor

    def named(self) -> dict[str, torch.Tensor]:
        return {**super().named(), "z": self.z, "loss": self.loss}


def lesson_generator(seed: int) -> torch.Generator:
    """A private generator, so a seed fixes every draw without touching torch's global RNG."""
    import torch

    return torch.Generator().manual_seed(seed)


def lesson_inputs(
    generator: torch.Generator,
    dtype: torch.dtype | None = None,
    features: int = 5,
    outputs: int = 3,
) -> LessonInputs:
    """Draw w then b, in the lesson's order, so a seed gives the lesson's numbers everywhere.

    `features` and `outputs` scale the same network up (x: (features,), w: (features,
    outputs)) for `modes --bench`; the defaults are the lesson's 5 and 3.
    """
    import torch

    dtype = dtype or torch.float32
    return LessonInputs(
        x=torch.ones(features, dtype=dtype),
        y=torch.zeros(outputs, dtype=dtype),
        w=torch.randn(features, outputs, generator=generator, dtype=dtype).requires_grad_(),
        b=torch.randn(outputs, generator=generator, dtype=dtype).requires_grad_(),
    )


def forward(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """z = x @ w + b: the one line the grad-mode demonstrations recompute."""
    import torch

    return torch.matmul(x, w) + b


def lesson_loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.nn.functional.binary_cross_entropy_with_logits(z, y)


def build_lesson(
    seed: int, sources: SourceMap | None = None, features: int = 5, outputs: int = 3
) -> LessonNetwork:
    """The whole network, forward pass done, backward not yet run.

    With `sources`, each grad_fn node is attributed to the lesson line that created it.
    """
    sources = sources or SourceMap()
    inputs = lesson_inputs(lesson_generator(seed), features=features, outputs=outputs)
    for name in ("x", "y", "w", "b"):
        sources.define_leaf(getattr(inputs, name), Source(LESSON_SOURCE[name]))
    z = forward(inputs.x, inputs.w, inputs.b)
    sources.record(z, Source(LESSON_SOURCE["z"]))
    loss = lesson_loss(z, inputs.y)
    sources.record(loss, Source(LESSON_SOURCE["loss"]))
    return LessonNetwork(**inputs.named(), z=z, loss=loss)
