"""What a program did, statement by statement: the records `step` renders.

Torch-free like every record: tensors appear as their properties and numbers, graph nodes
as labels (`#3 MulBackward0`, numbered in the order the program created them), so the
same program and seed always give the same timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograd_cli.records.tensors import Numbers


@dataclass(frozen=True, slots=True)
class TensorState:
    """A tensor a statement bound to a name (created, or rebound to another tensor)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None  # the node's label, `#3 MulBackward0`
    version: int | None  # None: an inference tensor, which has no version counter


@dataclass(frozen=True, slots=True)
class GradChange:
    """A `.grad` as one event left it: filled or accumulated by backward, zeroed, set."""

    tensor: str  # its name in the program, or the node label of an unnamed leaf
    how: str  # "backward", "zero_", "set to None", "assigned"
    before: Numbers | None  # None: `.grad` was None
    after: Numbers | None


@dataclass(frozen=True, slots=True)
class BackwardCall:
    """One `tensor.backward(...)` or `torch.autograd.grad(...)` as the engine ran it."""

    kind: str  # "backward" or "autograd.grad"
    root: str  # the name of the tensor it started from (or its node label)
    nodes: tuple[str, ...]  # the nodes that ran, in the engine's order
    grads: tuple[GradChange, ...]  # every `.grad` it changed, before and after
    graph: str  # "freed" or "retained" (retain_graph or create_graph)
    create_graph: bool = False


@dataclass(frozen=True, slots=True)
class VersionBump:
    """An in-place operation: the tensor's version counter after it."""

    tensor: str
    op: str
    version: int | None  # None: an inference tensor, which has no version counter


@dataclass(slots=True)
class StepEvent:
    """One executed statement (a loop body once per iteration) and what autograd did."""

    index: int  # 1-based, in execution order, counting folded statements too
    line: int  # 1-based line of the program
    code: str  # the statement's first line, as written
    loop: tuple[tuple[str, str], ...] = ()  # (loop variable, value) of the enclosing loops
    bound: list[TensorState] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)  # graph nodes this statement created
    backward: list[BackwardCall] = field(default_factory=list)
    grads: list[GradChange] = field(default_factory=list)  # zero_(), = None, assigned
    modes: list[str] = field(default_factory=list)  # grad mode changes, in words
    versions: list[VersionBump] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)  # what print() wrote, line by line


@dataclass(frozen=True, slots=True)
class FoldedSteps:
    """Iterations of a long loop left out of the timeline: the first and last are kept."""

    line: int  # the `for` statement's line
    iterations: int  # how many were folded
    statements: int  # how many statements they executed


@dataclass(frozen=True, slots=True)
class ProgramFailure:
    """The statement where torch (or Python's rules) refused the program, and why."""

    line: int
    code: str
    message: str
    hint: str | None
    start: int | None = None  # columns of the failing part of `code`, when known
    end: int | None = None


@dataclass
class Timeline:
    """Every step of one program run, in order, folded where loops run long."""

    program: str  # the file name, `<stdin>` or `<code>`
    seed: int
    trusted: bool
    entries: list[StepEvent | FoldedSteps] = field(default_factory=list)
    failure: ProgramFailure | None = None
    statements: int = 0  # executed, folded ones included
    #: What the tool did that plain PyTorch would not (none for a program as written).
    additions: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One change of a `.grad` in a program: by a backward call, or by zeroing it."""

    call: int | None  # the backward call's number in the program (None: not backward)
    line: int
    code: str
    root: str | None  # what backward started from
    change: GradChange
    note: str  # "first", "accumulated", "zeroed", ...


@dataclass
class Ledger:
    """`accumulate` on a program: every `.grad` its backward calls filled, in order."""

    program: str
    seed: int
    rows: list[LedgerRow] = field(default_factory=list)
    calls: int = 0  # backward calls the program made, those in folded loop iterations too
    #: "k calls of the same backward give k times the first": where the program repeats one
    #: backward unchanged, whether it holds there (text, holds).
    rules: list[tuple[str, bool]] = field(default_factory=list)
