"""How a long loop fits in the timeline: its first iterations, one folded line, its last.

One rule for interpreted programs and trusted files alike, so `step`, `step --json` and the
`accumulate` ledger read both the same way. The last iteration is only known once the loop
has ended (a `break`, the iterator running out, an exception), so an iteration past the
first ones is held in a buffer of its own while it runs, and folded into one `FoldedSteps`
count when the next one starts: the timeline keeps at most the first iterations, the
buffer of one, and a count, however many times the loop runs.
"""

from __future__ import annotations

from autograd_cli.records.timeline import FoldedSteps, StepEvent

#: Loop iterations kept whole in the timeline: the first ones and the last.
KEEP_FIRST = 2

#: A loop variable's value in the timeline (`[i=3]`): at most this many characters.
LOOP_VALUE_WIDTH = 40

#: Where a timeline entry goes: the timeline's list, a buffer, or nowhere (None: not kept).
Sink = list[StepEvent | FoldedSteps] | None


class LoopFold:
    """One run of one loop (the loop at `line`), as the timeline keeps it.

    `outer` is where the loop's kept entries go (the enclosing iteration's sink). Call
    `iteration` as each iteration starts and `end` once when the loop is left.
    """

    __slots__ = ("buffer", "folded", "line", "outer", "pending", "started", "statements")

    def __init__(self, line: int, outer: Sink) -> None:
        self.line = line
        self.outer = outer
        self.started = 0  # iterations started
        self.folded = FoldedSteps(line, 0, 0)
        self.statements = 0  # the timeline's count of statements when this iteration began
        self.pending = False  # the current iteration is past the first ones: folded unless last
        self.buffer: Sink = None  # its entries, kept in case it is the last

    def iteration(self, statements: int, maybe_last: bool = True) -> Sink:
        """A new iteration starts (`statements`: the timeline's count so far); returns the
        sink for its entries. `maybe_last=False`: the caller knows another iteration follows,
        so this one is folded without being recorded (the interpreter knows its counts)."""
        self.fold_pending(statements)
        self.started += 1
        self.statements = statements
        if self.outer is None or self.started <= KEEP_FIRST:
            return self.outer
        self.pending = True
        self.buffer = [] if maybe_last else None
        return self.buffer

    def end(self, statements: int) -> None:
        """The loop was left: the folded count, then the last iteration, go to `outer`. An
        iteration that was not recorded (`maybe_last=False`, left by an error) is folded."""
        if self.pending and self.buffer is None:
            self.fold_pending(statements)
        if self.outer is None:
            return
        if self.folded.iterations:
            self.outer.append(self.folded)
        if self.buffer is not None:
            self.outer.extend(self.buffer)
        self.pending, self.buffer = False, None

    def fold_pending(self, statements: int) -> None:
        """The current iteration was not the last: count it into the folded line."""
        if not self.pending:
            return
        self.folded = FoldedSteps(
            self.line,
            self.folded.iterations + 1,
            self.folded.statements + statements - self.statements,
        )
        self.pending, self.buffer = False, None


def loop_value(text: str) -> str:
    """A loop variable's value, as the program would print it, in a few characters."""
    return text if len(text) <= LOOP_VALUE_WIDTH else text[: LOOP_VALUE_WIDTH - 3] + "..."
