"""Plain records that the inspection layer fills and the renderers read.

They hold only Python values (numbers, strings, nested lists), never tensors, so the
renderers stay free of torch and the JSON schema follows directly from these fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograd_cli.records.modules import ModuleRecord

#: Nested lists of numbers as `Tensor.tolist()` gives them (a bare number for 0-d).
Values = float | int | bool | list["Values"]

SCHEMA = "autograd-cli/1"


def format_shape(shape: Sequence[int] | None) -> str:
    """`(3,)`, `(5, 3)`, `()`: a shape as Python writes the tuple; in messages and views."""
    if shape is None:
        return "?"
    return "(" + ", ".join(map(str, shape)) + (",)" if len(shape) == 1 else ")")


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


@dataclass(frozen=True)
class StaleVersion:
    """A saved tensor changed in place since it was saved: backward would refuse it."""

    version: int  # the tensor's version now
    saved_version: int  # its version when the node saved it


@dataclass(frozen=True)
class SavedRecord:
    """One tensor a node saved for backward (its `_saved_<name>` attribute).

    `alias` says when it is not extra memory of its own: `"output"` (the node's own result),
    `"leaf"` (a leaf tensor, `alias_of` its name when known) or `"input"` (the result of the
    child node `alias_of`, e.g. `"#3"`). `freed`: backward already released it. `stale`: it
    was modified in place after it was saved (torch refuses to hand it back either way).
    """

    name: str  # the attribute without `_saved_`: self, other, result, mat2, ...
    shape: tuple[int, ...] | None
    dtype: str | None
    nbytes: int  # numel * element size; 0 when freed or stale
    alias: str | None = None
    alias_of: str | None = None
    freed: bool = False
    stale: StaleVersion | None = None


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


# NodeRecord and EdgeRecord are not frozen: a graph can hold a million of each, and a
# frozen dataclass costs twice as much to build (`object.__setattr__` per field).
@dataclass(slots=True)
class NodeRecord:
    """One `grad_fn` node; `id` is its position in a depth-first walk from the root."""

    id: int
    name: str  # Node.name() without its C++ namespace
    shape: tuple[int, ...] | None  # of what the forward op produced (its first output)
    dtype: str | None
    leaf: str | None = None  # for AccumulateGrad: the name of the leaf it fills
    tensor: str | None = None  # a named intermediate whose grad_fn this node is
    saved: tuple[SavedRecord, ...] | None = None  # None: not inspected (trace(saved=False))
    grad: GradRecord | None = None  # d(root)/d(this node's output): what retain_grad() gives
    #: Every output's gradient, when the forward op made more than one (`unbind`, `split`):
    #: `grad` is output 0's. None for the usual single output.
    output_grads: tuple[GradRecord | None, ...] | None = None
    source: Source | None = None  # the code that created this node, when it was recorded
    #: The innermost nn.Module whose forward created it (for AccumulateGrad: the module
    #: that owns the parameter), when modules were recorded.
    module: ModuleRecord | None = None

    @property
    def saved_bytes(self) -> int | None:
        """Bytes of the tensors this node saved, each counted in full (aliases too)."""
        if self.saved is None:
            return None
        return sum(s.nbytes for s in self.saved)


@dataclass(slots=True)
class EdgeRecord:
    """`src.next_functions[position] == (dst, input_nr)`: gradient flows src -> dst.

    `dst is None` is torch's empty edge: that input needs no gradient (a constant).
    """

    src: int
    dst: int | None
    input_nr: int
    position: int
    grad: GradRecord | None = None  # the gradient src passed on to this input

    @property
    def constant(self) -> bool:
        return self.dst is None


@dataclass(frozen=True)
class OpSummary:
    """All nodes of one op name: how many, and the bytes they saved for backward."""

    name: str
    count: int
    saved_bytes: int | None


@dataclass
class GraphRecord:
    """A `grad_fn` graph: nodes in walk order (the root first) and every edge."""

    nodes: list[NodeRecord]
    edges: list[EdgeRecord]
    root: int = 0
    #: Memory the saved tensors hold, each storage once (views and repeats are not extra);
    #: None when saved tensors were not inspected.
    saved_bytes: int | None = None
    _out: dict[int, list[EdgeRecord]] = field(default_factory=dict, repr=False)

    def children(self, node_id: int) -> list[EdgeRecord]:
        """The edges leaving `node_id`, in `next_functions` order."""
        if not self._out:
            for edge in self.edges:
                self._out.setdefault(edge.src, []).append(edge)
        return self._out.get(node_id, [])

    def ops(self) -> list[OpSummary]:
        """One row per op name, most frequent first (ties by name, so output is stable)."""
        counts: dict[str, int] = {}
        saved: dict[str, int] = {}
        for node in self.nodes:
            counts[node.name] = counts.get(node.name, 0) + 1
            saved[node.name] = saved.get(node.name, 0) + (node.saved_bytes or 0)
        inspected = self.saved_bytes is not None
        return [
            OpSummary(name, count, saved.get(name, 0) if inspected else None)
            for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]

    def __iter__(self) -> Iterator[NodeRecord]:
        return iter(self.nodes)


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


@dataclass(frozen=True)
class TensorRecord:
    """What a learner wants to see of one tensor, its gradient included."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    values: Values | None = None
    grad: Values | None = None


@dataclass(frozen=True)
class JobResult:
    """One batch job after it ran: its status follows the command's exit code."""

    index: int
    name: str
    command: str | None
    exit_code: int
    seconds: float
    message: str  # what the command said on stderr (errors, failed checks)
    doc: dict[str, object] | None = None  # the command's own --json document
    text: str | None = None  # its stdout, for a job that asked for a text format under --json

    @property
    def status(self) -> str:
        return JOB_STATUS.get(self.exit_code, "error")


#: Exit code -> job status, as README.md documents them.
JOB_STATUS = {0: "passed", 1: "failed", 2: "invalid", 3: "error"}


@dataclass(frozen=True)
class TorchFailure:
    """A torch error shown as part of a demonstration: its own words, then ours."""

    error: str  # the exception's type, e.g. "RuntimeError"
    message: str  # torch's message, unchanged
    explanation: str  # one plain sentence: why it happened and what to do instead


@dataclass(frozen=True)
class Summary:
    """A tensor too large to print: its statistics and a corner of its values."""

    shape: tuple[int, ...]
    min: float | None  # None for an empty tensor
    max: float | None
    mean: float | None
    norm: float | None
    corner: Values  # at most a few rows and columns
    corner_index: str  # where the corner sits, as an index: "[0, :4, :6]"


#: What a view shows of a tensor: every value when they fit on screen, else a summary.
Numbers = Values | Summary
