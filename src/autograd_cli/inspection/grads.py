"""Gradients of a computation, and what checks them: Jacobian, finite differences, Hessian.

`backward(v)` computes `v^T J`; for a scalar result `v` is 1 and that is the gradient. The
checks rebuild the computation from fresh leaves (`Computation.rebuild`) and ask torch's own
`torch.autograd.functional` and `torch.autograd.gradcheck` for the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from autograd_cli.build.computation import Computation
from autograd_cli.defaults import (
    GRADCHECK_ATOL,
    GRADCHECK_EPS,
    GRADCHECK_RTOL,
    VJP_ATOL,
    VJP_RTOL,
)
from autograd_cli.errors import CliWarning, UsageError, backward_error, param
from autograd_cli.inspection.cost import check_work
from autograd_cli.inspection.tensors import check_vector_shape, numbers, tensor_record
from autograd_cli.records.reports import (
    CheckRecord,
    GradReport,
    HessianRecord,
    JacobianRecord,
    VariableGrad,
)
from autograd_cli.records.tensors import format_shape

if TYPE_CHECKING:
    import torch

#: Bounds on the extra work, over every variable together: a Jacobian costs one pass per
#: input element (forward mode) or per result element (reverse mode), whichever is fewer;
#: gradcheck two forwards per input element and a backward per result element, twice
#: (torch's verdict, and the differences shown); a Hessian one double backward per input.
MAX_JACOBIAN_ENTRIES = 1_000_000
MAX_CHECK_INPUTS = 2_000
MAX_HESSIAN_INPUTS = 1_000


def inspect_grads(
    computation: Computation,
    vector: torch.Tensor | None = None,
    vector_text: str | None = None,
    *,
    jacobian: bool = False,
    check: bool = False,
    hessian: bool = False,
    ran: bool = False,
    notes: list[CliWarning] | None = None,
) -> GradReport:
    """Run `result.backward(vector)` and collect every named tensor's gradient.

    Every value is kept, also of a tensor too large to show (a view shows its summary, a
    document its values), so the report is the same whatever it is shown as. `ran`:
    a program already ran its own backward calls, so `.grad` is shown as it left it.
    `notes` gets a warning for each gradient that holds inf or nan.
    """
    result = computation.result
    if not ran:
        refuse_integers_only(computation)
        vector = backward_vector(result, vector)
        for name, tensor in computation.tensors.items():
            if tensor.grad_fn is not None and not tensor.retains_grad:
                tensor.retain_grad()  # named intermediates show their gradient too
                computation.retained.add(name)
        try:
            result.backward(vector)
        except RuntimeError as error:
            raise backward_error(error) from None
    report = GradReport(
        result=tensor_record(computation.result_name, result, with_values=False, with_grad=False),
        value=numbers(result, every_value=True),
        source=dict(computation.source),
        vector=numbers(vector, every_value=True) if vector is not None else None,
        vector_text=vector_text,
        variables=[
            _variable(name, t, name in computation.retained)
            for name, t in computation.tensors.items()
        ],
    )
    if notes is not None:
        notes.extend(
            CliWarning(
                f"{v.tensor.name}.grad holds inf or nan",
                "a derivative is infinite or undefined here: x / 0, or sqrt or log at 0",
                code="nonfinite_grad",
            )
            for v, t in zip(report.variables, computation.tensors.values(), strict=True)
            if v.grad is not None and _nonfinite(t.grad)
        )
    if jacobian:
        report.jacobian = jacobians(computation, vector)
    if check:
        report.check = gradchecks(computation)
    if hessian:
        report.hessian = hessians(computation)
    return report


def refuse_integers_only(computation: Computation) -> None:
    """Nothing requires grad because the variables are integers (`x=-4`): say which one."""
    from autograd_cli.build.expression import as_float

    if computation.result.requires_grad or computation.wrt:
        return
    for name, tensor in computation.tensors.items():
        if tensor.is_leaf and not tensor.is_floating_point():
            dtype = str(tensor.dtype).removeprefix("torch.")
            raise UsageError(
                "the result does not depend on any variable that requires grad: "
                f"{name} is an integer tensor ({dtype}), and integer tensors never require grad",
                as_float(name, computation.source.get(name, "").partition("=")[2]),
            )


def backward_vector(result: torch.Tensor, vector: torch.Tensor | None) -> torch.Tensor | None:
    """Refuse what backward would refuse, in plain words, before calling it."""
    if not result.requires_grad:
        raise UsageError(
            "the result does not depend on any variable that requires grad: "
            "there is nothing to differentiate",
            "variables built from float constructors require grad unless "
            f"{param('wrt')} picks others; "
            "integer tensors never do",
        )
    shape = format_shape(tuple(result.shape))
    if vector is None:
        if result.dim() == 0:
            return None
        raise UsageError(
            f"the result has shape {shape}, not a single number, so backward() needs a vector "
            "v of that shape: it computes v^T J, the vector-Jacobian product",
            f"add {param('vector')} 'ones_like(result)' (the gradient of sum(result)), "
            "or reduce the result, e.g. sum(...)",
        )
    check_vector_shape(vector, result, "the result")
    return vector.to(result.dtype)


def _variable(name: str, tensor: torch.Tensor, retained: bool) -> VariableGrad:
    record = tensor_record(name, tensor, with_values=False, with_grad=False)
    grad = tensor.grad if tensor.is_leaf or tensor.retains_grad else None
    if grad is not None:
        return VariableGrad(record, numbers(grad, every_value=True), retained_by_tool=retained)
    if not tensor.requires_grad:
        missing = "a constant: it does not require grad"
    elif not (tensor.is_leaf or tensor.retains_grad):
        missing = "not a leaf: backward passes its gradient on without keeping it"
    else:
        missing = "no backward reached it"
    return VariableGrad(record, None, missing)


def _nonfinite(tensor: torch.Tensor | None) -> bool:
    from autograd_cli.expr.evaluate import all_finite

    return tensor is not None and not all_finite(tensor)


def _leaves(computation: Computation) -> dict[str, torch.Tensor]:
    """The wrt leaves as fresh detached copies: inputs for the functional APIs."""
    return {name: computation.tensors[name].detach().clone() for name in computation.wrt}


def _function(
    computation: Computation, names: list[str], base: dict[str, torch.Tensor]
) -> Callable[..., torch.Tensor]:
    """f(*inputs) = result, with `names` bound to `inputs` and the rest from `base`."""

    def f(*inputs: torch.Tensor) -> torch.Tensor:
        return computation.rebuild({**base, **dict(zip(names, inputs, strict=True))})

    return f


def _torch_call(what: str, call: Callable[[], object]) -> object:
    try:
        return call()
    except RuntimeError as error:
        raise backward_error(error, what=what) from None


def derivative_cost(option: str, computation: Computation, passes: int) -> None:
    """A pass of a derivative evaluates the computation and backpropagates through it:
    three times its forward cost."""
    check_work(option, passes, 3 * computation.cost)


def jacobians(computation: Computation, vector: torch.Tensor | None) -> list[JacobianRecord]:
    """J for each variable, and v^T J set against the gradient backward left in `.grad`.

    Column by column in forward mode when the variables have fewer elements than the
    result (one pass per input element), else row by row in reverse mode: the cost is
    the smaller count of passes, and memory stays one pass plus J itself.
    """
    import torch

    leaves = _leaves(computation)
    size = computation.result.numel()
    for name, leaf in leaves.items():
        _refuse_empty(param("jacobian"), name, leaf, "its Jacobian has no columns")
    inputs = sum(leaf.numel() for leaf in leaves.values())
    if size * inputs > MAX_JACOBIAN_ENTRIES:
        raise UsageError(
            f"{param('jacobian')}: J would have {size * inputs:,} entries "
            f"({size:,} result elements x {inputs:,} variable elements); "
            f"the limit is {MAX_JACOBIAN_ENTRIES:,}",
            f"use smaller tensors for the Jacobian, or fewer variables ({param('wrt')})",
        )
    derivative_cost(param("jacobian"), computation, min(size, inputs))
    names = list(leaves)
    f = _function(computation, names, {})
    parts = None
    if inputs < size:
        parts = _torch_call("the Jacobian", lambda: _forward_jacobian(f, leaves))
    if parts is None:  # reverse mode, or an op without a forward-mode derivative
        parts = _torch_call(
            "the Jacobian",
            lambda: torch.autograd.functional.jacobian(f, tuple(leaves.values())),
        )
    assert isinstance(parts, tuple)
    v = (vector if vector is not None else torch.ones(())).reshape(-1)
    records = []
    for name, part in zip(names, parts, strict=True):
        leaf = computation.tensors[name]
        flat = part.reshape(size, leaf.numel())
        vjp = (v.to(flat.dtype) @ flat).reshape(leaf.shape)
        grad = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
        records.append(
            JacobianRecord(
                name=name,
                shape=(size, leaf.numel()),
                jacobian=numbers(flat, every_value=True),
                vjp=numbers(vjp, every_value=True),
                max_difference=_max_difference(vjp, grad),
                matches_grad=torch.allclose(vjp, grad, rtol=VJP_RTOL, atol=VJP_ATOL),
            )
        )
    return records


#: What torch says of an op without a forward-mode derivative.
_NO_FORWARD_AD = ("forward AD", "forward-mode", "forward mode", "jvp")


def _forward_jacobian(
    f: Callable[..., torch.Tensor], leaves: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, ...] | None:
    """Each variable's Jacobian, one column per forward-mode pass (a unit tangent on one
    input element); None if an op has no forward-mode derivative."""
    import torch
    import torch.autograd.forward_ad as fwad

    parts = []
    values = list(leaves.values())
    for index, leaf in enumerate(values):
        columns = []
        for k in range(leaf.numel()):
            tangent = torch.zeros_like(leaf)
            tangent.view(-1)[k] = 1
            with fwad.dual_level():
                inputs = list(values)
                inputs[index] = fwad.make_dual(leaf, tangent)
                try:
                    out = f(*inputs)
                except (NotImplementedError, RuntimeError, UsageError) as error:
                    if any(words in str(error) for words in _NO_FORWARD_AD):
                        return None
                    raise
                column = fwad.unpack_dual(out).tangent
            columns.append(
                torch.zeros(out.numel(), dtype=out.dtype)
                if column is None
                else column.reshape(-1).clone()
            )
        parts.append(torch.stack(columns, dim=1).reshape(*out.shape, *leaf.shape))
    return tuple(parts)


def gradchecks(computation: Computation) -> list[CheckRecord]:
    """Each variable on its own, in float64: torch's gradcheck verdict, and the largest gap.

    The gap compares the analytical Jacobian (autograd's backward functions) with central
    differences, as gradcheck does internally, so a wrong backward shows how wrong it is.
    """
    import torch

    base = {
        name: t.detach().to(torch.float64)
        for name, t in computation.tensors.items()
        if t.grad_fn is None and t.is_floating_point()
    }
    size = computation.result.numel()
    for name in computation.wrt:
        _refuse_empty(
            param("check"), name, base[name], "finite differences need at least one element"
        )
        if size * base[name].numel() > MAX_JACOBIAN_ENTRIES:
            raise UsageError(
                f"{param('check')}: the Jacobian for {name} would have "
                f"{size * base[name].numel():,} entries; the limit is {MAX_JACOBIAN_ENTRIES:,}",
                "check a smaller version of the computation",
            )
    inputs = sum(base[name].numel() for name in computation.wrt)
    if inputs > MAX_CHECK_INPUTS:
        raise UsageError(
            f"{param('check')}: the variables have {inputs:,} elements together; "
            f"finite differences are limited to {MAX_CHECK_INPUTS:,} in all",
            f"check a smaller version of the computation, or fewer variables ({param('wrt')})",
        )
    derivative_cost(param("check"), computation, 4 * inputs + 2 * size * len(computation.wrt))
    records = []
    for name in computation.wrt:
        x = base[name].clone().requires_grad_()
        records.append(_gradcheck(name, _function(computation, [name], base), x))
    return records


def _refuse_empty(option: str, name: str, tensor: torch.Tensor, why: str) -> None:
    """torch's own error for an empty input is `stack expects a non-empty TensorList`."""
    if tensor.numel() == 0:
        raise UsageError(
            f"{option}: {name} has no elements; {why}",
            f"give {name} at least one element, or leave it out with {param('wrt')}",
        )


def _gradcheck(name: str, f: Callable[..., torch.Tensor], x: torch.Tensor) -> CheckRecord:
    import torch

    analytical = _torch_call("the Jacobian", lambda: torch.autograd.functional.jacobian(f, x))
    assert isinstance(analytical, torch.Tensor)
    numerical = _central_differences(f, x)
    passed = _torch_call(
        "gradcheck",
        lambda: torch.autograd.gradcheck(
            f,
            (x,),
            eps=GRADCHECK_EPS,
            atol=GRADCHECK_ATOL,
            rtol=GRADCHECK_RTOL,
            raise_exception=False,
        ),
    )
    difference = _max_difference(analytical.reshape(numerical.shape), numerical)
    return CheckRecord(
        name, bool(passed), difference, GRADCHECK_EPS, GRADCHECK_ATOL, GRADCHECK_RTOL
    )


def _central_differences(f: Callable[..., torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """(f(x + eps e_k) - f(x - eps e_k)) / 2 eps for each element k: (outputs, inputs)."""
    import torch

    with torch.no_grad():
        point = x.detach().clone()
        flat = point.view(-1)
        columns = []
        for k in range(flat.numel()):
            original = flat[k].item()
            flat[k] = original + GRADCHECK_EPS
            plus = f(point).reshape(-1).clone()
            flat[k] = original - GRADCHECK_EPS
            minus = f(point).reshape(-1).clone()
            flat[k] = original
            columns.append((plus - minus) / (2 * GRADCHECK_EPS))
        return torch.stack(columns, dim=1)


def hessians(computation: Computation) -> list[HessianRecord]:
    """Second derivatives of a scalar result, one block per pair of variables."""
    import torch

    result = computation.result
    if result.dim() != 0:
        raise UsageError(
            f"{param('hessian')} needs a scalar result; "
            f"this one has shape {format_shape(result.shape)}",
            "reduce it first, e.g. sum(...)",
        )
    leaves = _leaves(computation)
    for name, leaf in leaves.items():
        _refuse_empty(param("hessian"), name, leaf, "second derivatives need at least one element")
    total = sum(t.numel() for t in leaves.values())
    if total > MAX_HESSIAN_INPUTS:
        raise UsageError(
            f"{param('hessian')}: the variables have {total:,} elements; the limit is "
            f"{MAX_HESSIAN_INPUTS:,} (the Hessian has that many squared entries)",
            f"pick fewer variables with {param('wrt')}, or smaller ones",
        )
    derivative_cost(param("hessian"), computation, 2 * total)
    names = list(leaves)
    f = _function(computation, names, {})
    blocks = _torch_call(
        "the Hessian", lambda: torch.autograd.functional.hessian(f, tuple(leaves.values()))
    )
    assert isinstance(blocks, tuple)
    records = []
    for i, row in zip(names, blocks, strict=True):
        for j, block in zip(names, row, strict=True):
            shape = (leaves[i].numel(), leaves[j].numel())
            records.append(
                HessianRecord((i, j), shape, numbers(block.reshape(shape), every_value=True))
            )
    return records


def _max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0
