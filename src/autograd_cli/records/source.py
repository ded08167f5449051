"""Where a node came from: the piece of code (expression, program line) that made it."""

from __future__ import annotations

from dataclasses import dataclass

#: Columns `[start, end)` of a part of a line of code: what a node came from, what an error
#: is about.
Span = tuple[int, int]


@dataclass(frozen=True)
class Source:
    """A piece of code: a whole line (`start is None`) or the span `code[start:end]`."""

    code: str
    start: int | None = None
    end: int | None = None
    line: int | None = None  # 1-based line of a program the code stands on, when from one
    #: The column in `code` of the node's own operator (`*` of `a * b`, a call's name):
    #: where a view cropped to the terminal keeps its eye when the span is long.
    focus: int | None = None

    @property
    def span(self) -> Span | None:
        return None if self.start is None or self.end is None else (self.start, self.end)

    @property
    def text(self) -> str:
        return self.code if self.start is None else self.code[self.start : self.end]
