"""Repeated `backward` calls into one leaf's `.grad`, and the law they obey.

Autograd adds each call's vector-Jacobian product into `.grad` instead of replacing it,
so after k calls since the last `zero_()` the gradient is k times the first call's.

Call count: `times` calls; when the plan zeroes, `.grad.zero_()` runs after call
`zero_after` (by default the last of the `times`) and one more call follows, so the
reset shows: the lesson's 2 calls, `zero_()`, 1 call = 3 calls. Without zeroing: `times`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from autograd_cli.build.computation import Computation
from autograd_cli.defaults import MAX_CALLS, MAX_KEPT_NUMBERS
from autograd_cli.errors import UsageError, backward_error, explain_freed, param
from autograd_cli.inspection.tensors import check_vector_shape, values
from autograd_cli.records.failures import TorchFailure
from autograd_cli.records.reports import AccumulationCall, AccumulationPlan, AccumulationRecord

if TYPE_CHECKING:
    import torch

Keep = Callable[[int], bool]


def check_plan(plan: AccumulationPlan) -> None:
    """Refuse a plan that makes no call, too many, or zeroes outside its calls."""
    if plan.times < 1:
        raise UsageError(f"{param('times')} {plan.times}: at least one call is needed")
    if plan.times > MAX_CALLS:
        raise UsageError(
            f"{param('times')} {plan.times}: more than the {MAX_CALLS:,} backward calls "
            "accumulate makes",
            f"choose N from 1 to {MAX_CALLS:,}; the k-times law shows after a few calls",
        )
    if plan.zero_after is not None and not 1 <= plan.zero_after <= plan.times:
        raise UsageError(
            f"{param('zero_after')} {plan.zero_after}: outside the {plan.times} calls of "
            f"{param('times')}",
            f"choose K from 1 to {plan.times}, or {param('no_zero')}",
        )


def kept_every(plan: AccumulationPlan, grad_numbers: int, every: int | None = None) -> int:
    """K for `thinned`: `every` (1 by default), or more where the kept gradients would hold
    over MAX_KEPT_NUMBERS numbers (`grad_numbers` a call), so memory stays flat however
    many calls a run makes."""
    if every is not None and every < 1:
        raise UsageError(f"{param('every')} {every}: must be at least 1")
    return max(every or 1, math.ceil(plan.total * grad_numbers / MAX_KEPT_NUMBERS))


def thinned(plan: AccumulationPlan, every: int) -> Keep:
    """Call 1, every `every`-th call, the call after `zero_()` and the last."""
    return lambda call: (
        call == 1 or call % every == 0 or plan.zeroes_before(call) or call == plan.total
    )


def accumulation_code(
    computation: Computation, leaf: str, plan: AccumulationPlan, vector_code: str | None
) -> list[str]:
    """The computation's source and a loop that makes exactly the calls of `plan`.

    `vector_code` None: a scalar result's bare `backward()`, as `modes` shows it.
    """
    result = computation.result_name
    retain = "retain_graph=True" if plan.retain_graph else ""
    arguments = ", ".join(a for a in (vector_code, retain) if a)
    lines = [computation.source.get(name, f"{name} = ...") for name in computation.named]
    lines.append(f"for call in range(1, {plan.total + 1}):")
    if plan.zero_after is not None:
        lines += [f"    if call == {plan.zero_after + 1}:", f"        {leaf}.grad.zero_()"]
    lines.append(f"    {result}.backward({arguments})")
    return lines


def accumulate(
    computation: Computation,
    plan: AccumulationPlan,
    *,
    leaf: str | None = None,
    vector: torch.Tensor | None = None,
    vector_code: str | None = None,
    every: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> AccumulationRecord:
    """Run `result.backward(vector)` as `plan` says and watch `leaf.grad` (the first wrt leaf).

    `vector` defaults to ones shaped like the result (none for a scalar result). Every
    call's gradient is kept, or every K-th call's (`kept_every`: at least `every`, and
    within MAX_KEPT_NUMBERS numbers), however the record is shown; the law is checked on
    every call. `progress(done)` is told after each call. The leaf's `.grad` is reset to
    None first, so call 1 is a first call.
    """
    import torch

    name = _watched_leaf(computation, leaf)
    tensor = computation.tensors[name]
    output = computation.result
    result = computation.result_name
    if vector is None:
        vector_code = None
        if output.dim() != 0:
            vector, vector_code = torch.ones_like(output), f"torch.ones_like({result})"
    else:
        check_vector_shape(vector, output, result)
    code = accumulation_code(
        computation, name, plan, (vector_code or "v") if vector is not None else None
    )
    tensor.grad = None
    every = kept_every(plan, tensor.numel(), every)
    keep = thinned(plan, every)
    kept: list[AccumulationCall] = []
    first: torch.Tensor | None = None
    since_zero = 0
    law_failure: int | None = None
    failure: TorchFailure | None = None
    failed_call: int | None = None
    made = 0
    for call in range(1, plan.total + 1):
        zeroed = plan.zeroes_before(call) and tensor.grad is not None
        if zeroed:
            assert tensor.grad is not None
            tensor.grad.zero_()
            since_zero = 0
        try:
            output.backward(vector, retain_graph=plan.retain_graph)
        except RuntimeError as error:
            if call == 1 or plan.retain_graph:
                raise backward_error(error, f" at call {call}") from None
            failure, failed_call = _freed_failure(error), call
            break
        made = call
        since_zero += 1
        grad = tensor.grad
        if grad is None:
            raise UsageError(
                f"{result} does not depend on {name}: its .grad stays None",
                "pick a leaf the result is computed from",
            )
        if first is None:
            first = grad.clone()
        if law_failure is None and not _k_times(grad, first, since_zero):
            law_failure = call
        if keep(call):
            kept.append(AccumulationCall(call, zeroed, values(grad), since_zero))
        if progress is not None:
            progress(call)
    return AccumulationRecord(
        calls=kept,
        every=every,
        law_holds=law_failure is None,
        law_failure=law_failure,
        leaf=name,
        result=result,
        shape=tuple(tensor.shape),
        plan=plan,
        code=code,
        calls_made=made,
        failed_call=failed_call,
        failure=failure,
    )


def _watched_leaf(computation: Computation, leaf: str | None) -> str:
    wrt = computation.wrt
    if leaf is None and wrt:
        return wrt[0]
    if leaf is not None and leaf in wrt:
        return leaf
    what = (
        f"{param('leaf')} {leaf}: not" if leaf is not None else f"{computation.result_name} has no"
    )
    raise UsageError(
        f"{what} a leaf that requires grad, so backward fills no .grad to watch",
        "choose one of: " + ", ".join(wrt) if wrt else "give a leaf with requires_grad=True",
    )


def _k_times(grad: torch.Tensor, first: torch.Tensor, k: int) -> bool:
    """grad == k * first, up to the rounding of k float additions (relative k * eps)."""
    import torch

    expected = k * first
    if torch.equal(grad, expected):  # exact, as for the lesson's 4s and 2s: 5x cheaper
        return True
    if not grad.is_floating_point():
        return False
    eps = torch.finfo(grad.dtype).eps
    return bool(torch.allclose(grad, expected, rtol=k * eps, atol=0.0))


def _freed_failure(error: RuntimeError) -> TorchFailure:
    freed = explain_freed(error)
    explanation = (
        f"{freed[0].upper()}{freed[1:]}."
        if freed is not None
        else "torch refused the repeated backward call; its message gives the reason."
    )
    return TorchFailure(type(error).__name__, str(error), explanation)
