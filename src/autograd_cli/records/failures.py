"""A torch error that a demonstration shows on purpose (accumulate, modes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TorchFailure:
    """A torch error shown as part of a demonstration: its own words, then ours."""

    error: str  # the exception's type, e.g. "RuntimeError"
    message: str  # torch's message, unchanged
    explanation: str  # one plain sentence: why it happened and what to do instead
