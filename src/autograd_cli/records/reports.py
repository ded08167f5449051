"""The reports each command's inspection fills and its renderer reads.

Like the records of the package, they hold only Python values, so `render/` imports them
without importing the inspection layer or torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograd_cli.records.failures import TorchFailure
from autograd_cli.records.graph import GraphRecord
from autograd_cli.records.modules import ParameterRecord, Thresholds
from autograd_cli.records.tensors import Numbers, TensorRecord, Values

# --- grad: expected gradients ---------------------------------------------------------


@dataclass(frozen=True)
class ExpectRow:
    index: tuple[int, ...]
    grad: float
    expected: float
    difference: float
    close: bool


@dataclass(frozen=True)
class ExpectRecord:
    name: str
    formula: str
    passed: bool
    reason: str | None  # why it failed before any value was compared (a shape mismatch)
    elements: int
    mismatches: int
    max_difference: float | None  # the largest |grad - expected|
    max_difference_at: tuple[int, ...] | None  # the index of the element that has it
    #: the largest |grad - expected| / |expected| (infinite where only `expected` is 0)
    max_rel_difference: float | None
    max_rel_difference_at: tuple[int, ...] | None
    rows: list[ExpectRow]  # at most inspection.expect.SHOWN_ROWS: mismatches first, then in order
    expected: Values | None  # every value, for JSON
    rtol: float  # the tolerances `close` was judged with (torch.isclose's)
    atol: float


# --- grads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableGrad:
    tensor: TensorRecord  # its properties; values and grad are in `grad`
    grad: Numbers | None
    missing: str | None = None  # why there is no gradient
    #: autograd-cli called retain_grad() on this non-leaf: plain PyTorch leaves .grad None
    retained_by_tool: bool = False


@dataclass(frozen=True)
class JacobianRecord:
    """J of the result with respect to one variable, flattened to (result, variable) elements."""

    name: str
    shape: tuple[int, int]
    jacobian: Numbers
    vjp: Numbers  # v^T J, in the variable's shape
    max_difference: float  # |v^T J - grad|, largest element
    matches_grad: bool


@dataclass(frozen=True)
class CheckRecord:
    name: str
    passed: bool  # torch.autograd.gradcheck's verdict
    max_difference: float  # |analytical - numerical|, largest Jacobian element, in float64
    eps: float  # the step of the central differences, and gradcheck's tolerances
    atol: float
    rtol: float


@dataclass(frozen=True)
class HessianRecord:
    of: tuple[str, str]  # d2 result / d of[0] d of[1]
    shape: tuple[int, int]
    values: Numbers


@dataclass
class GradReport:
    result: TensorRecord
    value: Numbers
    source: dict[str, str]
    vector: Numbers | None  # None: the result is a scalar and backward() used 1
    vector_text: str | None
    variables: list[VariableGrad]
    jacobian: list[JacobianRecord] | None = None
    check: list[CheckRecord] | None = None
    hessian: list[HessianRecord] | None = None
    expect: list[ExpectRecord] | None = None
    #: A program's model: every parameter with its health flags, judged by `thresholds`,
    #: and the optimizer steps it saw; None without a model.
    parameters: list[ParameterRecord] | None = None
    thresholds: Thresholds | None = None
    optimizer_steps: int | None = None

    @property
    def check_failed(self) -> list[str]:
        return [c.name for c in self.check or [] if not c.passed]

    @property
    def expect_failed(self) -> list[str]:
        return [e.name for e in self.expect or [] if not e.passed]


# --- modes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InplaceEffect:
    """`row_tensor.add_(1)` seen through the tracked result: its first value, before and after."""

    before: float
    after: float


@dataclass(frozen=True)
class BackwardOutcome:
    works: bool
    filled: list[str]  # the leaves whose .grad the backward call filled
    failure: TorchFailure | None


@dataclass(frozen=True)
class ModeRow:
    mode: str  # short key, stable in JSON
    code: str  # how the result is computed in this mode
    requires_grad: bool
    grad_fn: str | None
    is_leaf: bool
    shares_storage: bool  # with the tracked result computed from the same leaves
    inplace: InplaceEffect | None  # only for a different tensor that shares the storage
    backward: BackwardOutcome
    saved_bytes: int  # storages autograd saved for backward while computing it


@dataclass(frozen=True)
class ModesReport:
    result: str  # the result's name: z for the lesson
    freeze: str | None  # the leaf the frozen row freezes
    backward_code: str  # the backward call every row tries
    rows: list[ModeRow]


# --- modes: the benchmark -------------------------------------------------------------


@dataclass(frozen=True)
class BenchRow:
    mode: str
    code: str
    median_s: float
    ratio: float  # median_s / the baseline's median_s
    saved_bytes: int


@dataclass(frozen=True)
class BenchReport:
    size: int | None  # the scaled lesson network's width; None for another computation
    repeat: int
    baseline: str  # the mode every ratio divides by
    rows: list[BenchRow]


# --- accumulate -----------------------------------------------------------------------


@dataclass(frozen=True)
class AccumulationPlan:
    """The backward calls to make; `inspection.accumulate.check_plan` says if they can be."""

    times: int = 2
    zero_after: int | None = 2  # None: never zero
    retain_graph: bool = True

    @property
    def total(self) -> int:
        """Calls the plan makes: one more than `times` when it zeroes, to show the reset."""
        return self.times + (self.zero_after is not None)

    def zeroes_before(self, call: int) -> bool:
        return self.zero_after is not None and call == self.zero_after + 1


@dataclass(frozen=True)
class AccumulationCall:
    call: int  # 1-based
    zeroed_before: bool  # `.grad.zero_()` ran just before this call
    grad: Values  # `.grad` right after this call
    since_zero: int  # calls since the last zeroing, this one included


@dataclass(frozen=True)
class AccumulationRecord:
    calls: list[AccumulationCall]  # the kept calls, in order
    every: int  # K: call 1, every K-th call, the one after zero_() and the last were kept
    law_holds: bool  # over every call made, kept or not
    law_failure: int | None  # first call where grad != since_zero * first call's grad
    leaf: str
    result: str
    shape: tuple[int, ...]  # of the leaf and its .grad
    plan: AccumulationPlan
    code: list[str]  # the Python that does what was run
    calls_made: int  # backward calls that completed
    failed_call: int | None = None  # the call that raised `failure` (only without retain)
    failure: TorchFailure | None = None


# --- lesson ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LessonReport:
    seed: int
    source: dict[str, str]
    tensors: list[TensorRecord]  # x, y, w, b, z, loss after the forward pass
    grad_fns: dict[str, str]  # z and loss -> their grad_fn's name
    graph: GraphRecord  # of loss
    gradients: list[TensorRecord]  # w and b after loss.backward()
    rows_equal_b: bool  # every row of w.grad equals b.grad (x is all ones)
    modes: list[ModeRow]
    accumulation: AccumulationRecord
