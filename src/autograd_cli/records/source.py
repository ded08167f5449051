"""Where a node came from: the piece of code (expression, program line) that made it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A piece of code: a whole line (`start is None`) or the span `code[start:end]`."""

    code: str
    start: int | None = None
    end: int | None = None
    line: int | None = None  # 1-based line of a program the code stands on, when from one

    @property
    def text(self) -> str:
        return self.code if self.start is None else self.code[self.start : self.end]
