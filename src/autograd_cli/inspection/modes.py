"""One computation under each grad mode: what autograd records, keeps and allows.

Every row recomputes the result from fresh copies of the leaves through
`Computation.rebuild`, so rows share no `.grad` and no graph. For each row it measures the
bytes autograd saved for backward (with `torch.autograd.graph.saved_tensors_hooks`), then
runs the real backward and keeps torch's own error where there is none to run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from autograd_cli.build.computation import Computation
from autograd_cli.errors import UsageError, param
from autograd_cli.inspection.graph import short_name
from autograd_cli.inspection.tensors import check_vector_shape
from autograd_cli.records.failures import TorchFailure
from autograd_cli.records.reports import BackwardOutcome, InplaceEffect, ModeRow, ModesReport

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

#: What torch says when backward starts from a tensor that has no graph behind it.
NO_GRAPH = "does not require grad and does not have a grad_fn"


@dataclass(frozen=True)
class _Mode:
    key: str
    code: str  # `{z}` is the result's name, `{w}` the frozen leaf's
    context: Callable[[], AbstractContextManager[object]]  # the grad mode to compute under
    no_graph: str  # why backward has no graph to run through in this mode
    detach: bool = False
    freeze: bool = False


def _no_grad() -> AbstractContextManager[object]:
    import torch

    return torch.no_grad()


def _inference_mode() -> AbstractContextManager[object]:
    import torch

    return torch.inference_mode()


def _grad_disabled() -> AbstractContextManager[object]:
    import torch

    return torch.set_grad_enabled(False)


@contextmanager
def _enable_inside_no_grad() -> Iterator[None]:
    import torch

    with torch.no_grad(), torch.enable_grad():
        yield


_NOT_TRACKED = (
    "{z} depends on no leaf that requires grad, so autograd recorded no graph to run "
    "backward through."
)
_TRACKING_OFF = (
    "{z} was computed with tracking off, so it has no grad_fn: there is no graph to run "
    "backward through."
)

MODES = {
    mode.key: mode
    for mode in (
        _Mode("plain", "{z} = ...", nullcontext, _NOT_TRACKED),
        _Mode("no_grad", "with torch.no_grad(): {z} = ...", _no_grad, _TRACKING_OFF),
        _Mode(
            "detach",
            "{z}.detach()",
            nullcontext,
            "detach() returns {z}'s values cut off from the graph (no grad_fn), so backward "
            "has nothing to run through.",
            detach=True,
        ),
        _Mode(
            "inference_mode",
            "with torch.inference_mode(): {z} = ...",
            _inference_mode,
            "inference_mode records no graph at all, and its result is an inference tensor "
            "that can never join a graph later.",
        ),
        _Mode(
            "set_grad_enabled",
            "with torch.set_grad_enabled(False): {z} = ...",
            _grad_disabled,
            _TRACKING_OFF,
        ),
        _Mode(
            "enable_grad",
            "with torch.no_grad(), torch.enable_grad(): {z} = ...",
            _enable_inside_no_grad,
            _NOT_TRACKED,
        ),
        _Mode(
            "frozen",
            "{w}.requires_grad_(False); {z} = ...",
            nullcontext,
            "with {w} frozen, nothing {z} depends on requires grad, so autograd recorded no "
            "graph to run backward through.",
            freeze=True,
        ),
    )
}

#: The lesson's three ways of computing z (section 4).
LESSON_MODES = ("plain", "no_grad", "detach")


def measure_saved(compute: Callable[[], T]) -> tuple[T, int]:
    """Run `compute` and count the bytes of every storage autograd saves for backward.

    Each storage counts once (keyed by its data pointer), however many saved tensors view
    it; storages of inputs count too, since the graph keeps them alive.
    """
    import torch

    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = compute()
    return result, sum(storages.values())


def fresh_leaves(computation: Computation) -> dict[str, torch.Tensor]:
    """Copies of the leaves with the same `requires_grad`, attached to no graph.

    Two names for one tensor (`--var v=x`) stay one tensor: freezing one freezes both.
    """
    copies: dict[int, torch.Tensor] = {}
    leaves: dict[str, torch.Tensor] = {}
    for name, t in computation.tensors.items():
        if t.is_leaf:
            if id(t) not in copies:
                copies[id(t)] = t.detach().clone().requires_grad_(t.requires_grad)
            leaves[name] = copies[id(t)]
    return leaves


def backward_code(result: str, scalar: bool, vector_code: str | None) -> str:
    if vector_code is not None:
        return f"{result}.backward({vector_code})"
    return f"{result}.backward()" if scalar else f"{result}.backward(torch.ones_like({result}))"


def grad_modes(
    computation: Computation,
    modes: Sequence[str] = tuple(MODES),
    *,
    vector: torch.Tensor | None = None,
    vector_code: str | None = None,
    freeze: str | None = None,
) -> ModesReport:
    """One row per mode in `modes`; backward runs with `vector` (ones for a non-scalar).

    `freeze` names the leaf the `frozen` row freezes: by default the first leaf that
    requires grad (`w` for the lesson).
    """
    name = computation.result_name
    result = computation.result
    if vector is not None:
        check_vector_shape(vector, result, name)
    frozen = _frozen_leaf(computation, freeze) if "frozen" in modes else None
    code = backward_code(name, result.dim() == 0, vector_code if vector is not None else None)
    rows = [_row(computation, MODES[key], vector, frozen) for key in modes]
    return ModesReport(name, frozen, code, rows)


def _frozen_leaf(computation: Computation, freeze: str | None) -> str:
    wrt = computation.wrt
    if freeze is None:
        if not wrt:
            raise UsageError(
                f"{computation.result_name} depends on no leaf that requires grad",
                "the frozen-parameter row needs one to freeze",
            )
        return wrt[0]
    if freeze not in wrt:
        raise UsageError(
            f"{param('freeze')} {freeze}: not a leaf that requires grad",
            "choose one of: " + ", ".join(wrt) if wrt else None,
        )
    return freeze


def _row(
    computation: Computation, mode: _Mode, vector: torch.Tensor | None, frozen: str | None
) -> ModeRow:

    leaves = fresh_leaves(computation)
    if mode.freeze and frozen is not None:
        leaves[frozen].requires_grad_(False)

    def compute() -> torch.Tensor:
        with mode.context():
            return computation.rebuild(leaves)

    tensor, saved = measure_saved(compute)
    # The tracked result from the same leaves, to compare storage with.
    tracked = tensor if mode.key == "plain" or mode.detach else computation.rebuild(leaves)
    if mode.detach:
        tensor = tracked.detach()
    shares = _same_storage(tensor, tracked)
    name = computation.result_name
    code = mode.code.format(z=name, w=frozen)
    if mode.key == "plain":
        code = computation.source.get(name, code)
    return ModeRow(
        mode=mode.key,
        code=code,
        requires_grad=tensor.requires_grad,
        grad_fn=short_name(tensor.grad_fn) if tensor.grad_fn is not None else None,
        is_leaf=tensor.is_leaf,
        shares_storage=shares,
        backward=_try_backward(tensor, vector, leaves, mode.no_graph.format(z=name, w=frozen)),
        inplace=_inplace_effect(tensor, tracked) if shares and tensor is not tracked else None,
        saved_bytes=saved,
    )


def _same_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    storage = a.untyped_storage()
    return storage.nbytes() > 0 and storage.data_ptr() == b.untyped_storage().data_ptr()


def _try_backward(
    tensor: torch.Tensor,
    vector: torch.Tensor | None,
    leaves: dict[str, torch.Tensor],
    no_graph: str,
) -> BackwardOutcome:
    import torch

    if vector is None and tensor.dim() > 0:
        vector = torch.ones_like(tensor)
    try:
        tensor.backward(vector)
    except RuntimeError as error:
        message = str(error)
        explanation = (
            no_graph
            if NO_GRAPH in message
            else "torch refused this backward call; its message gives the reason."
        )
        return BackwardOutcome(False, [], TorchFailure(type(error).__name__, message, explanation))
    filled = [name for name, leaf in leaves.items() if leaf.grad is not None]
    return BackwardOutcome(True, filled, None)


def _inplace_effect(tensor: torch.Tensor, tracked: torch.Tensor) -> InplaceEffect | None:
    """Add 1 in place to `tensor` and read the tracked result's first value before and after."""
    import torch

    if not tensor.is_floating_point() or tensor.numel() == 0:
        return None
    before = float(tracked.detach().reshape(-1)[0])
    with torch.no_grad():
        tensor.add_(1)
    return InplaceEffect(before, float(tracked.detach().reshape(-1)[0]))
