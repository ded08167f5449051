"""Why a variable's `.grad` is what it is: a reason word and the code it points at."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from autograd_cli.records.grads import GradRecord
from autograd_cli.records.source import Source


class Reason(StrEnum):
    """Why a variable's `.grad` is what it is (`why --json` gives these words)."""

    HAS_GRAD = "has_grad"  # a leaf that requires grad and reaches the result
    RETAINED = "retained"  # a non-leaf whose gradient is kept because retain_grad() was called
    NON_LEAF = "non_leaf"  # a non-leaf without retain_grad(): .grad stays None
    RESULT = "result"  # the result itself: backward starts there
    CONSTANT = "constant"  # a float tensor that does not require grad
    INTEGER = "integer"  # an integer or bool tensor, which cannot require grad
    DETACH = "detach"  # the path to the result is cut by detach()
    NO_GRAD = "no_grad"  # ... or computed under no_grad
    INFERENCE_MODE = "inference_mode"  # ... or under inference_mode
    UNUSED = "unused"  # the result does not depend on it at all
    MODIFIED_INPLACE = "modified_inplace"  # a saved tensor changed after it was saved
    FROZEN = "frozen"  # a parameter whose requires_grad was switched off (or never on)
    CLEARED = "cleared"  # backward filled it, then zero_grad() or `.grad = None` emptied it
    NO_BACKWARD = "no_backward"  # the program never calls backward()


@dataclass(frozen=True)
class WhyRecord:
    """One variable's gradient, explained: `source` is where its path was cut, or else
    where it was made; `node` the graph node the explanation points at."""

    name: str
    has_grad: bool
    reason: Reason
    explanation: str
    source: Source | None = None
    node: int | None = None
    grad: GradRecord | None = None
